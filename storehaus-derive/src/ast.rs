//! The model as `#[model]` understands it: the struct, its table options, its fields and their
//! flags. Built from the parsed item; attribute errors go to the [`Ctxt`] and the rest of the
//! model is still built, so that later checks can report their errors too.

use crate::attr::{self, FieldArgs, Kind, TableArgs};
use crate::ctxt::Ctxt;
use syn::ext::IdentExt;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, Type, Visibility};

pub struct Container<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    /// `None` when the struct has no `#[table]` (an error reported by the checks).
    pub table: Option<TableAttr<'a>>,
    /// Struct-level `#[index(..)]` / `#[unique(..)]`, in attribute order.
    pub indexes: Vec<CompositeIndex>,
    pub fields: Vec<Field<'a>>,
}

pub struct TableAttr<'a> {
    pub args: TableArgs,
    /// The whole attribute, for errors about what it lacks.
    pub attr: &'a Attribute,
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
        let (table, indexes) = container_attrs(cx, &input.attrs);

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
        Some(Container { ident: &input.ident, vis: &input.vis, table, indexes, fields })
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

    /// Every field marked `#[primary_key]`, in declaration order: one, or the parts of a
    /// composite key.
    pub fn key_fields(&self) -> Vec<&Field<'a>> {
        self.fields.iter().filter(|f| f.primary_key.is_some()).collect()
    }
}

fn container_attrs<'a>(cx: &Ctxt, attrs: &'a [Attribute]) -> (Option<TableAttr<'a>>, Vec<CompositeIndex>) {
    let mut table: Option<TableAttr<'a>> = None;
    let mut indexes = Vec::new();
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
            Kind::PrimaryKey | Kind::Field | Kind::Tenant => {
                cx.error_spanned_by(attr, format!("`#[{}]` belongs on a field, not on the struct", kind.name()))
            }
        }
    }
    (table, indexes)
}

fn field_from_ast<'a>(cx: &Ctxt, ident: &'a Ident, ty: &'a Type, attrs: &'a [Attribute]) -> Field<'a> {
    let mut field =
        Field { ident, ty, primary_key: None, generated: false, flags: None, tenant: None, indexes: Vec::new() };
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
            Kind::Table => cx.error_spanned_by(attr, "`#[table(..)]` belongs on the struct, not on a field"),
        }
    }
    field
}
