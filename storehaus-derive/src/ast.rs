//! The model as `#[model]` understands it: the struct, its table options, its fields and their
//! flags. Built from the parsed item; attribute errors go to the [`Ctxt`] and the rest of the
//! model is still built, so that later checks can report their errors too.

use crate::attr::{self, FieldArgs, Kind, RelationArgs, TableArgs};
use crate::ctxt::Ctxt;
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, Type, Visibility};

pub struct Container<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    /// `None` when the struct has no `#[table]` (an error reported by the checks).
    pub table: Option<TableAttr<'a>>,
    /// Struct-level `#[index(..)]` / `#[unique(..)]`, in attribute order.
    pub indexes: Vec<CompositeIndex>,
    /// `#[has_many]`, `#[has_one]` and `#[many_to_many]`, in attribute order.
    pub relations: Vec<RelationAttr<'a>>,
    pub fields: Vec<Field<'a>>,
}

pub struct TableAttr<'a> {
    pub args: TableArgs,
    /// The whole attribute, for errors about what it lacks.
    pub attr: &'a Attribute,
}

/// The functions `#[model]` generates besides the relations', whose names relations cannot take.
pub const GENERATED_FUNCTIONS: [&str; 2] = ["new", "columns"];

/// One relation attribute: `#[belongs_to]` on a field, the others on the struct.
pub struct RelationAttr<'a> {
    pub kind: Kind,
    pub args: RelationArgs,
    /// The whole attribute, for errors about what it lacks.
    pub attr: &'a Attribute,
}

impl RelationAttr<'_> {
    /// The relation's name: the one given, or the default one. `model` is the declaring model
    /// (which `Self` names) and `field` the field a `#[belongs_to]` is on. `None` when there is
    /// no default (a `#[belongs_to]` field whose name does not end in `_id`, or an attribute
    /// without its related model).
    pub fn name(&self, model: &Ident, field: Option<&Field<'_>>) -> Option<String> {
        if let Some(name) = &self.args.name {
            return Some(name.value());
        }
        if self.kind == Kind::BelongsTo {
            let column = field?.column();
            return column.strip_suffix("_id").filter(|stem| !stem.is_empty()).map(str::to_owned);
        }
        let target = self.args.target.as_ref()?;
        let target = if target.is_ident("Self") { model } else { &target.segments.last()?.ident };
        let singular = snake_case(&target.unraw().to_string());
        Some(if self.kind == Kind::HasOne { singular } else { plural(&singular) })
    }

    /// The related model's name as written last in its path, for messages and docs.
    pub fn target_name(&self) -> String {
        let last = self.args.target.as_ref().and_then(|path| path.segments.last());
        last.map_or_else(|| "the related model".to_owned(), |segment| segment.ident.unraw().to_string())
    }
}

/// The identifier of a field or function named `value` (a column or relation name), at `span`:
/// a keyword becomes a raw identifier, as the field `r#type` has the column `type`. `None` when
/// `value` is no identifier.
pub fn ident_named(value: &str, span: Span) -> Option<Ident> {
    // Raw identifiers come from keywords, never written with `r#`: columns are named without it.
    if value.starts_with("r#") || matches!(value, "_" | "self" | "super" | "crate" | "Self") {
        return None;
    }
    let parsed = Ident::parse_any.parse_str(value).ok()?;
    if parsed != value {
        return None;
    }
    if syn::parse_str::<Ident>(value).is_ok() {
        Some(Ident::new(value, span))
    } else {
        Some(Ident::new_raw(value, span))
    }
}

/// `PostTag` → `post_tag`, `HTTPRequest` → `http_request`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let after_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            // The last capital of an acronym starts the next word: `HTTPRequest`.
            let ends_acronym =
                i > 0 && chars[i - 1].is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if (after_lower || ends_acronym) && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The English plural of a snake_case name's last word, by the regular rules only:
/// `post` → `posts`, `box` → `boxes`, `category` → `categories`, `key` → `keys`.
pub fn plural(name: &str) -> String {
    if ["s", "x", "z", "ch", "sh"].iter().any(|end| name.ends_with(end)) {
        return format!("{name}es");
    }
    if let Some(stem) = name.strip_suffix('y')
        && stem.chars().last().is_some_and(|c| c.is_alphabetic() && !"aeiou".contains(c))
    {
        return format!("{stem}ies");
    }
    format!("{name}s")
}

pub struct CompositeIndex {
    pub columns: Vec<Ident>,
    pub unique: bool,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    /// The `#[primary_key]` attribute, if present.
    pub primary_key: Option<&'a Attribute>,
    /// The primary key of an `#[table(auto_increment)]` model: the database assigns it.
    pub generated: bool,
    /// `#[field(..)]`, if present.
    pub flags: Option<FieldArgs>,
    /// The `#[tenant]` attribute, if present: this field's value scopes every call.
    pub tenant: Option<&'a Attribute>,
    /// Field-level `#[index]` (false) and `#[unique]` (true), in attribute order.
    pub indexes: Vec<bool>,
    /// `#[belongs_to(..)]`: this field holds the key of a parent model.
    pub belongs_to: Option<RelationAttr<'a>>,
}

impl Field<'_> {
    /// The column name: the field name without a raw identifier's `r#`.
    pub fn column(&self) -> String {
        self.ident.unraw().to_string()
    }

    /// Whether inserts and updates write this field. The primary key is written on create (unless
    /// the database generates it) and is never SET by an update: it is the update's WHERE.
    pub fn writes(&self) -> Writes {
        if self.primary_key.is_some() {
            return Writes { create: !self.generated, update: false };
        }
        match &self.flags {
            Some(flags) if flags.chooses_writes() => {
                Writes { create: flags.create.is_some(), update: flags.update.is_some() }
            }
            _ => Writes { create: true, update: true },
        }
    }

    /// Whether change-event payloads carry this field: all but `#[field(no_signal)]` ones.
    pub fn signal(&self) -> bool {
        self.flags.as_ref().is_none_or(|flags| flags.no_signal.is_none())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writes {
    pub create: bool,
    pub update: bool,
}

impl<'a> Container<'a> {
    /// Reads the struct. Returns `None`, with the error recorded, when the item is not something a
    /// model can be made of (an enum, a union, a tuple or unit struct, a generic struct).
    pub fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<Container<'a>> {
        let (table, indexes, relations) = container_attrs(cx, &input.attrs);

        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(named),
                Fields::Unnamed(fields) => {
                    cx.error_spanned_by(fields, "`#[model]` needs named fields: a tuple struct has no column names");
                    None
                }
                Fields::Unit => {
                    cx.error_spanned_by(&input.ident, "`#[model]` needs a struct with named fields, one per column");
                    None
                }
            },
            Data::Enum(data) => {
                cx.error_at(
                    data.enum_token.span,
                    "`#[model]` can only be applied to a struct with named fields, not an enum",
                );
                None
            }
            Data::Union(data) => {
                cx.error_at(
                    data.union_token.span,
                    "`#[model]` can only be applied to a struct with named fields, not a union",
                );
                None
            }
        };

        let generics = &input.generics;
        let generic = if !generics.params.is_empty() {
            cx.error_spanned_by(&generics.params, "a `#[model]` struct cannot have generic parameters or lifetimes");
            true
        } else if let Some(clause) = &generics.where_clause {
            cx.error_spanned_by(clause, "a `#[model]` struct cannot have a `where` clause");
            true
        } else {
            false
        };

        let named = named?;
        let fields = named.named.iter().filter_map(|field| {
            // `Fields::Named` always carries identifiers.
            let ident = field.ident.as_ref()?;
            Some(field_from_ast(cx, ident, &field.ty, &field.attrs))
        });
        let mut fields: Vec<Field<'a>> = fields.collect();
        if generic {
            return None;
        }
        if table.as_ref().is_some_and(|t| t.args.auto_increment.is_some()) {
            fields.iter_mut().filter(|f| f.primary_key.is_some()).for_each(|f| f.generated = true);
        }
        Some(Container { ident: &input.ident, vis: &input.vis, table, indexes, relations, fields })
    }

    /// The primary-key field: the first one marked, when there is one.
    pub fn primary_key(&self) -> Option<(usize, &Field<'a>)> {
        self.fields.iter().enumerate().find(|(_, f)| f.primary_key.is_some())
    }

    /// The `#[tenant]` field and its index among the columns: the first one marked, when there
    /// is one.
    pub fn tenant(&self) -> Option<(usize, &Field<'a>)> {
        self.fields.iter().enumerate().find(|(_, f)| f.tenant.is_some())
    }

    /// Every relation with the field a `#[belongs_to]` is on: the struct's attributes first (they
    /// come first in the source), then the fields'.
    pub fn all_relations(&self) -> impl Iterator<Item = (&RelationAttr<'a>, Option<&Field<'a>>)> {
        let relations = self.relations.iter().map(|r| (r, None));
        let belongs_to = self.fields.iter().filter_map(|f| f.belongs_to.as_ref().map(|r| (r, Some(f))));
        relations.chain(belongs_to)
    }

    /// Every field marked `#[primary_key]`, in declaration order: one, or the parts of a
    /// composite key.
    pub fn key_fields(&self) -> Vec<&Field<'a>> {
        self.fields.iter().filter(|f| f.primary_key.is_some()).collect()
    }
}

type ContainerAttrs<'a> = (Option<TableAttr<'a>>, Vec<CompositeIndex>, Vec<RelationAttr<'a>>);

fn container_attrs<'a>(cx: &Ctxt, attrs: &'a [Attribute]) -> ContainerAttrs<'a> {
    let mut table: Option<TableAttr<'a>> = None;
    let mut indexes = Vec::new();
    let mut relations = Vec::new();
    for attr in attrs {
        let Some(kind) = Kind::of(attr) else { continue };
        match kind {
            Kind::Table => {
                let args = attr::table(cx, attr);
                if table.is_some() {
                    cx.error_spanned_by(attr, "duplicate `#[table]`: put every table option in one `#[table(..)]`");
                } else {
                    table = Some(TableAttr { args, attr });
                }
            }
            Kind::Index | Kind::Unique => {
                if let Some(columns) = attr::composite(cx, attr, kind) {
                    indexes.push(CompositeIndex { columns, unique: kind == Kind::Unique });
                }
            }
            Kind::HasMany | Kind::HasOne | Kind::ManyToMany => {
                relations.push(RelationAttr { kind, args: attr::relation(cx, attr, kind), attr });
            }
            Kind::BelongsTo => cx.error_spanned_by(
                attr,
                "`#[belongs_to(..)]` belongs on the field that holds the parent's key, not on the struct",
            ),
            Kind::PrimaryKey | Kind::Field | Kind::Tenant => {
                cx.error_spanned_by(attr, format!("`#[{}]` belongs on a field, not on the struct", kind.name()))
            }
        }
    }
    (table, indexes, relations)
}

fn field_from_ast<'a>(cx: &Ctxt, ident: &'a Ident, ty: &'a Type, attrs: &'a [Attribute]) -> Field<'a> {
    let mut field = Field {
        ident,
        ty,
        primary_key: None,
        generated: false,
        flags: None,
        tenant: None,
        indexes: Vec::new(),
        belongs_to: None,
    };
    let mut index = false;
    let mut unique = false;
    for attr in attrs {
        let Some(kind) = Kind::of(attr) else { continue };
        match kind {
            Kind::PrimaryKey => {
                attr::flag(cx, attr, kind);
                if field.primary_key.is_some() {
                    cx.error_spanned_by(attr, "duplicate `#[primary_key]` on this field");
                } else {
                    field.primary_key = Some(attr);
                }
            }
            Kind::Tenant => {
                attr::flag(cx, attr, kind);
                if field.tenant.is_some() {
                    cx.error_spanned_by(attr, "duplicate `#[tenant]` on this field");
                } else {
                    field.tenant = Some(attr);
                }
            }
            Kind::Field => {
                let flags = attr::field(cx, attr);
                if field.flags.is_some() {
                    cx.error_spanned_by(attr, "duplicate `#[field]`: put every flag in one `#[field(..)]`");
                } else {
                    field.flags = Some(flags);
                }
            }
            Kind::Index | Kind::Unique => {
                attr::flag(cx, attr, kind);
                let seen = if kind == Kind::Index { &mut index } else { &mut unique };
                if *seen {
                    cx.error_spanned_by(attr, format!("duplicate `#[{}]` on this field", kind.name()));
                } else {
                    *seen = true;
                    field.indexes.push(kind == Kind::Unique);
                }
            }
            Kind::BelongsTo => {
                let args = attr::relation(cx, attr, kind);
                if field.belongs_to.is_some() {
                    cx.error_spanned_by(
                        attr,
                        "duplicate `#[belongs_to]` on this field: a field holds the key of one parent",
                    );
                } else {
                    field.belongs_to = Some(RelationAttr { kind, args, attr });
                }
            }
            Kind::HasMany | Kind::HasOne | Kind::ManyToMany => {
                cx.error_spanned_by(attr, format!("`#[{}(..)]` belongs on the struct, not on a field", kind.name()))
            }
            Kind::Table => cx.error_spanned_by(attr, "`#[table(..)]` belongs on the struct, not on a field"),
        }
    }
    field
}
