//! SeaORM entities over the tables `auto_migrate` made for the StoreHaus models, system columns
//! included, so SeaORM reads and writes exactly what the others do.

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "bench_users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub name: String,
        pub hair_color: Option<String>,
        #[sea_orm(column_name = "__created_at__")]
        pub created_at: DateTimeUtc,
        #[sea_orm(column_name = "__updated_at__")]
        pub updated_at: DateTimeUtc,
        #[sea_orm(column_name = "__tags__")]
        pub tags: Vec<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(has_many = "super::post::Entity")]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod post {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "bench_posts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub user_id: i32,
        pub title: String,
        pub body: Option<String>,
        #[sea_orm(column_name = "__created_at__")]
        pub created_at: DateTimeUtc,
        #[sea_orm(column_name = "__updated_at__")]
        pub updated_at: DateTimeUtc,
        #[sea_orm(column_name = "__tags__")]
        pub tags: Vec<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(belongs_to = "super::user::Entity", from = "Column::UserId", to = "super::user::Column::Id")]
        User,
        #[sea_orm(has_many = "super::comment::Entity")]
        Comment,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl Related<super::comment::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Comment.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod comment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "bench_comments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub post_id: i32,
        pub text: String,
        #[sea_orm(column_name = "__created_at__")]
        pub created_at: DateTimeUtc,
        #[sea_orm(column_name = "__updated_at__")]
        pub updated_at: DateTimeUtc,
        #[sea_orm(column_name = "__tags__")]
        pub tags: Vec<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(belongs_to = "super::post::Entity", from = "Column::PostId", to = "super::post::Column::Id")]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}
