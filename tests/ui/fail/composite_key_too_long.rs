use storehaus::prelude::*;

#[model]
#[table(name = "cells")]
pub struct Cell {
    #[primary_key]
    pub a: i64,
    #[primary_key]
    pub b: i64,
    #[primary_key]
    pub c: i64,
    #[primary_key]
    pub d: i64,
    #[primary_key]
    pub e: i64,
}

fn main() {}
