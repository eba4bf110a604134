use storehaus::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[model]
#[table(name = "places")]
pub struct Place {
    #[primary_key]
    pub id: Uuid,
    pub location: Point,
    #[field(update)]
    pub note: String,
}

fn main() {}
