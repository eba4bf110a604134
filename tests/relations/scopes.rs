//! Related records are held to the store's scope: a tenant's load and filters never reach
//! another tenant's rows, and a store without the scope a related model needs is refused.

use super::*;

#[model]
#[table(name = "rel_projects")]
#[has_many(Task, foreign_key = "project_id")]
pub struct Project {
    #[primary_key]
    pub id: i64,
    #[tenant]
    pub org: String,
    pub name: String,
}

#[model]
#[table(name = "rel_tasks", auth)]
pub struct Task {
    #[primary_key]
    pub id: i64,
    #[tenant]
    pub org: String,
    #[belongs_to(Project, on_delete = "cascade")]
    pub project_id: i64,
    pub title: String,
}

on_both_backends! {
    /// A tenant's load leaves out related rows of other tenants (and, for an `auth` model, rows
    /// its principals may not see); filters do the same.
    async fn related_rows_follow_the_scope(db) {
        let storehaus = db.storehaus().await;
        storehaus.auto_migrate::<Project>(false).await.unwrap();
        storehaus.auto_migrate::<Task>(false).await.unwrap();
        let projects = GenericStore::<Project>::new(storehaus.pool().clone(), None, None);
        let tasks = GenericStore::<Task>::new(storehaus.pool().clone(), None, None);
        projects.unrestricted().create(Project::new(1, "a".into(), "alpha".into()), None).await.unwrap();
        projects.unrestricted().create(Project::new(2, "b".into(), "beta".into()), None).await.unwrap();
        tasks.tenant("a".to_owned()).auth("ann").create(Task::new(1, "a".into(), 1, "mine".into()), None).await.unwrap();
        tasks.tenant("a".to_owned()).auth("bob").create(Task::new(2, "a".into(), 1, "bob's".into()), None).await.unwrap();
        // A row of tenant b pointing at tenant a's project: never visible to tenant a.
        tasks.tenant("b".to_owned()).auth("ann").create(Task::new(3, "b".into(), 1, "foreign".into()), None).await.unwrap();

        let error = projects.tenant("a".to_owned()).find_with(QueryBuilder::new(), Project::tasks()).await.unwrap_err();
        assert!(matches!(&error, StoreError::AuthRequired { table } if table == "rel_tasks"), "{error:?}");

        let all = projects.unrestricted().find_with(QueryBuilder::new(), Project::tasks()).await.unwrap();
        let ids: Vec<i64> = all[0].related(Project::tasks()).iter().map(|t| t.id).collect();
        assert_eq!(ids, [1, 2, 3]);

        let of_a = tasks.tenant("a".to_owned()).auth("ann").find_with(QueryBuilder::new(), Task::project()).await.unwrap();
        assert_eq!(of_a.len(), 1);
        assert_eq!(of_a[0].one(Task::project()).map(|p| p.name.as_str()), Some("alpha"));

        let of_b = tasks.tenant("b".to_owned()).auth("ann").find_with(QueryBuilder::new(), Task::project()).await.unwrap();
        assert_eq!(of_b.len(), 1);
        assert!(of_b[0].one(Task::project()).is_none(), "project 1 belongs to tenant a");

        let with_project = QueryFilter::has(Task::project());
        let found = tasks.tenant("b".to_owned()).auth("ann").find(QueryBuilder::new().filter(with_project)).await.unwrap();
        assert!(found.is_empty(), "the EXISTS holds tenant b to its own projects");
    }
}
