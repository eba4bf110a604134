# Everyday tasks of StoreHaus development; `make help` lists them.
#
# Every target works without Docker on a machine where PostgreSQL and Redis already run: Docker
# (docker-compose.yml) is used only to start them when they do not answer. The examples read
# DATABASE_URL and REDIS_URL; set them in the environment or on the command line, e.g.
# `make examples-all DATABASE_URL=postgres://me@db.internal:5432/storehaus`.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/storehaus
REDIS_URL ?= redis://127.0.0.1:6379
export DATABASE_URL REDIS_URL

# How long `make fuzz` runs, in seconds.
FUZZ_SECONDS ?= 600

# The learning path, in order; examples/README.md describes each.
EXAMPLES := demo quickstart 01_basic_usage 02_model_definition tags_demo transactions migrations migration_files \
	signals_basic order_mail caching_basic resilience data_store counters shared_store access_control blog_system ecommerce_demo \
	complete_integration

.PHONY: help setup dev docker-up docker-down build test doc check bench fuzz \
	example-complete examples-all examples-help examples-list

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-17s %s\n", $$1, $$2 }'

setup: docker-up ## Check the toolchain, start the services if needed, create the database
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }
	@cargo fmt --version >/dev/null && cargo clippy --version >/dev/null
	@scripts/services.sh database

dev: setup build ## Set up and build everything
	@echo "Ready. Next: make examples-help, make example-complete, make test"

docker-up: ## Start PostgreSQL and Redis with Docker, unless they already answer
	@scripts/services.sh up

docker-down: ## Stop the services docker-up started
	@scripts/services.sh down

build: ## Build the libraries, tests and examples
	cargo build --workspace --all-targets

test: ## Run the test suite (the README's test command)
	cargo test --workspace

doc: ## Build the API documentation, warnings as errors
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

check: ## Formatting, lints, API docs and tests
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	@$(MAKE) --no-print-directory doc test

bench: docker-up ## Run the side-by-side benchmark, quick mode (docs/performance.md)
	cargo run --release -p storehaus-bench -- --quick

fuzz: ## Fuzz the query builder for FUZZ_SECONDS on SQLite (needs nightly and cargo-fuzz; fuzz/README.md)
	cd fuzz && cargo +nightly fuzz run query_builder -- -dict=dict -max_total_time=$(FUZZ_SECONDS)

example-complete: setup ## Run the full-system example, complete_integration
	cargo run --example complete_integration

examples-all: setup ## Run every example in learning-path order, timed; stops at a failure
	cargo build --examples
	@for example in $(EXAMPLES); do \
		echo; echo "==> cargo run --example $$example"; \
		started=$$(date +%s%N); \
		cargo run --quiet --example "$$example"; \
		elapsed=$$(( ($$(date +%s%N) - started) / 1000000 )); \
		printf '==> %s passed in %d.%02d s\n' "$$example" $$((elapsed / 1000)) $$((elapsed % 1000 / 10)); \
	done
	@echo; echo "all $(words $(EXAMPLES)) examples passed"

examples-help: ## Describe each example, in learning-path order
	@sed -n '/^<!-- examples-help -->/,/^<!-- \/examples-help -->/{//!p}' examples/README.md

examples-list: ## Print the example names, one per line
	@printf '%s\n' $(EXAMPLES)
