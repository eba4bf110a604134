//! An online shop: a catalog seeded with `create_many` and browsed through the read-through cache,
//! orders placed in transactions that take stock with an atomic conditional decrement, customer
//! notifications written by a signal callback, a cancellation that puts the stock back, receipts
//! and a closing sales report read through the models' relations, and foreign keys that keep the
//! orders whole.
//!
//! ```text
//! cargo run --example ecommerce_demo
//! ```
//!
//! With no `DATABASE_URL`, `REDIS_URL`, `$STOREHAUS_CONFIG` or `storehaus.toml` it runs on the
//! embedded default: SQLite in memory with an in-memory cache. Otherwise settings come from
//! `AppConfig::load()` (those, and `STOREHAUS_*` variables) and the cache is Redis at
//! `REDIS_URL`; PostgreSQL and SQLite both work. The tables `shop_customers`, `shop_products`,
//! `shop_orders`, `shop_order_items` and `shop_notifications` are recreated on every run. The
//! example exits non-zero when a check fails.

use std::path::Path;
use std::time::Duration;

use storehaus::cache::CacheManager;
use storehaus::prelude::*;
use storehaus::signals::{CallbackError, DatabaseEvent, EventType, Subscription};
use tokio::sync::mpsc;

/// Customers have many orders: `Customer::orders()`.
#[model]
#[table(name = "shop_customers")]
#[has_many(Order, foreign_key = "customer_id")]
pub struct Customer {
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    #[unique]
    pub email: String,
}

/// Catalog entries; the category is a tag. `versioned` makes `save` refuse a stale copy.
#[model]
#[table(name = "shop_products", versioned)]
pub struct Product {
    #[primary_key]
    pub id: Uuid,
    #[unique]
    pub sku: String,
    pub name: String,
    pub price: Decimal,
    pub stock: i32,
}

/// An order belongs to its customer (`Order::customer()`), who cannot be deleted while it exists,
/// has many lines (`Order::items()`) and, through them, many products (`Order::products()`).
#[model]
#[table(name = "shop_orders")]
#[has_many(OrderItem, foreign_key = "order_id", name = "items")]
#[many_to_many(Product, through = OrderItem, foreign_key = "order_id", target_key = "product_id")]
pub struct Order {
    #[primary_key]
    pub id: Uuid,
    #[belongs_to(Customer, on_delete = "restrict")]
    pub customer_id: Uuid,
    pub status: String,
    pub total: Decimal,
}

/// One line of an order, with the price the customer paid. Deleting the order deletes its lines; a
/// product that a line refers to cannot be deleted.
#[model]
#[table(name = "shop_order_items")]
pub struct OrderItem {
    #[primary_key]
    pub id: Uuid,
    #[belongs_to(Order, on_delete = "cascade")]
    pub order_id: Uuid,
    #[belongs_to(Product, on_delete = "restrict")]
    pub product_id: Uuid,
    pub quantity: i32,
    pub unit_price: Decimal,
}

/// Messages to customers, written by the signal callback (a mail queue in a real shop). They go
/// with the order, or the customer, they are about.
#[model]
#[table(name = "shop_notifications")]
pub struct Notification {
    #[primary_key]
    pub id: Uuid,
    #[belongs_to(Order, on_delete = "cascade")]
    pub order_id: Uuid,
    #[belongs_to(Customer, on_delete = "cascade")]
    pub customer_id: Uuid,
    pub kind: String,
    pub message: String,
}

const PLACED: &str = "placed";
const CANCELLED: &str = "cancelled";
/// How long a committed order's notification may take to be written.
const SIGNAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an order was not placed. Returning it from the transaction's closure rolls everything back.
#[derive(Debug)]
enum OrderError {
    OutOfStock { product: Uuid, wanted: i32 },
    Store(StoreError),
}

impl From<StoreError> for OrderError {
    fn from(error: StoreError) -> Self {
        OrderError::Store(error)
    }
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::OutOfStock { product, wanted } => write!(f, "fewer than {wanted} of product {product} left"),
            OrderError::Store(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for OrderError {}

/// The stores an order touches, and the database they share.
struct Shop {
    storehaus: StoreHaus,
    products: GenericStore<Product>,
    orders: GenericStore<Order>,
    items: GenericStore<OrderItem>,
}

impl Shop {
    /// Takes the stock and writes the order with its items, all in one transaction.
    async fn place_order(&self, customer: Uuid, lines: &[(Uuid, i32)]) -> Result<Record<Order>, OrderError> {
        let lines = lines.to_vec();
        let (products, orders, items) = (self.products.clone(), self.orders.clone(), self.items.clone());
        self.storehaus
            .transaction(|tx| async move {
                let products = products.with_transaction(&tx);
                let order_id = Uuid::new_v4();
                let (mut total, mut order_items) = (Decimal::ZERO, Vec::new());
                for (product, wanted) in lines {
                    // `stock = stock - n WHERE stock >= n` in one statement: two buyers of the last
                    // unit can never both get it, and no row comes back when too few are left.
                    let c = Product::columns();
                    let taken = products
                        .update_where(
                            QueryBuilder::new().filter(c.id.eq(product)).filter(c.stock.gte(wanted)),
                            UpdateSet::new().decrement("stock", wanted),
                        )
                        .await?;
                    let Some(taken) = taken.into_iter().next() else {
                        return Err(OrderError::OutOfStock { product, wanted });
                    };
                    total += taken.price * Decimal::from(wanted);
                    order_items.push(OrderItem::new(Uuid::new_v4(), order_id, product, wanted, taken.price));
                }
                let order = Order::new(order_id, customer, PLACED.into(), total);
                let order = orders.with_transaction(&tx).create(order, None).await?;
                items.with_transaction(&tx).create_many(order_items, None).await?;
                Ok(order)
            })
            .await
    }

    /// Marks a placed order cancelled and puts its items back on the shelf, atomically.
    async fn cancel_order(&self, order: Uuid) -> Result<(), StoreError> {
        let (products, orders) = (self.products.clone(), self.orders.clone());
        self.storehaus
            .transaction(|tx| async move {
                let orders = orders.with_transaction(&tx);
                let c = Order::columns();
                let placed = QueryBuilder::new().filter(c.id.eq(order)).filter(c.status.eq(PLACED));
                let cancelled = orders.update_where(placed, UpdateSet::new().set("status", CANCELLED)).await?;
                if cancelled.is_empty() {
                    return Err(StoreError::validation("status", "only a placed order can be cancelled"));
                }
                // The lines of the order just updated, read in the same transaction.
                let cancelled = orders.load(cancelled, Order::items()).await?;
                for item in cancelled.iter().flat_map(|o| o.related(Order::items())) {
                    let product = QueryBuilder::new().filter(Product::columns().id.eq(item.product_id));
                    let restock = UpdateSet::new().increment("stock", item.quantity);
                    products.with_transaction(&tx).update_where(product, restock).await?;
                }
                Ok(())
            })
            .await
    }
}

/// The confirmation or cancellation notice an order event calls for, if any.
fn notice_for(event: &DatabaseEvent) -> Result<Option<(&'static str, String)>, CallbackError> {
    // The payload is the row as JSON, where the total is a plain number: show it as money again.
    let total: Decimal = event.payload["total"].to_string().parse()?;
    Ok(match (event.event_type, event.payload["status"].as_str()) {
        (EventType::Create, _) => Some(("confirmation", format!("Thank you for your order of {total:.2}."))),
        (EventType::Update, Some(CANCELLED)) => {
            Some(("cancellation", format!("Your order of {total:.2} was cancelled.")))
        }
        _ => None,
    })
}

/// Waits for the callback to report the notice of `order`, then checks the row it wrote.
async fn expect_notice(
    written: &mut mpsc::UnboundedReceiver<Uuid>,
    notifications: &GenericStore<Notification>,
    order: Uuid,
    kind: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let id = tokio::time::timeout(SIGNAL_TIMEOUT, written.recv()).await?.ok_or("the callback stopped")?;
    let notice = notifications.get_by_id(&id).await?.ok_or("the reported notification is not in the table")?;
    assert_eq!((notice.order_id, notice.kind.as_str()), (order, kind), "the {kind} notice of order {order}");
    println!("  notification: {kind} for order {} ({:?})", short(order), notice.message);
    Ok(())
}

/// Whether anything says where the database and the cache are. When nothing does, the example runs
/// on the embedded default.
fn configured() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    set("DATABASE_URL") || set("REDIS_URL") || set("STOREHAUS_CONFIG") || Path::new("storehaus.toml").exists()
}

/// The first characters of an id, enough to tell orders apart in the output.
fn short(id: Uuid) -> String {
    id.simple().to_string()[..8].to_owned()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = AppConfig::load()?;
    let embedded = !configured();
    if embedded {
        config.database = DatabaseConfig::embedded(":memory:");
    }
    let storehaus = StoreHaus::new(config.database.clone()).await?;
    let cache = Arc::new(if embedded {
        CacheManager::memory(&config.cache)?
    } else {
        CacheManager::new(config.cache.clone())?
    });
    let signals = storehaus.signal_manager(config.signal.clone()).await?;
    let cache_kind = if embedded { "an in-memory cache" } else { "Redis" };
    println!("shop on {} ({}) with {cache_kind}", config.database.redacted_url(), storehaus.pool().backend_name());

    // Parents before children: a foreign key needs the table it refers to. On PostgreSQL,
    // recreating a parent drops the keys that referred to it; recreating each child after it
    // declares them again.
    storehaus.auto_migrate::<Customer>(true).await?;
    storehaus.auto_migrate::<Product>(true).await?;
    storehaus.auto_migrate::<Order>(true).await?;
    storehaus.auto_migrate::<OrderItem>(true).await?;
    storehaus.auto_migrate::<Notification>(true).await?;
    println!("recreated shop_customers, shop_products, shop_orders, shop_order_items, shop_notifications");

    // Product reads are the hot path, so that store reads through the cache; orders announce
    // their writes to the signal manager.
    let params = CacheParams::new(Arc::clone(&cache), 300, format!("ecommerce_demo:{}", Uuid::new_v4().simple()));
    let pool = storehaus.pool().clone();
    let customers = GenericStore::<Customer>::new(pool.clone(), None, None);
    let products = GenericStore::<Product>::new(pool.clone(), None, Some(params.clone()));
    let orders = GenericStore::<Order>::new(pool.clone(), Some(Arc::clone(&signals)), None);
    let items = GenericStore::<OrderItem>::new(pool.clone(), None, None);
    let notifications = GenericStore::<Notification>::new(pool, None, None);
    let shop = Shop { storehaus, products: products.clone(), orders: orders.clone(), items };

    // Side effect: every committed order (and cancellation) gets a notification row.
    let (reported, mut written) = mpsc::unbounded_channel();
    let outbox = notifications.clone();
    let order_events = Subscription::table(Order::TABLE.name).events([EventType::Create, EventType::Update]);
    signals.add_callback_for(order_events, move |event| {
        let (outbox, reported) = (outbox.clone(), reported.clone());
        async move {
            let Some((kind, message)) = notice_for(&event)? else { return Ok(()) };
            let customer: Uuid = event.payload["customer_id"].as_str().ok_or("order without customer")?.parse()?;
            let notice = Notification::new(Uuid::new_v4(), event.record_id.parse()?, customer, kind.into(), message);
            let notice = outbox.create(notice, None).await?;
            reported.send(notice.id).map_err(|_| "nobody waits for notifications")?;
            Ok(())
        }
    })?;

    // 1. Seed: one create_many per category, the category as the tag of every row in it.
    let catalog = [
        ("books", vec![("BK-1", "Rust in Practice", 3990, 10), ("BK-2", "SQL Pocket Guide", 1450, 3)]),
        ("games", vec![("GM-1", "Chess Set", 2500, 5), ("GM-2", "Puzzle 1000", 1299, 1)]),
        ("garden", vec![("GD-1", "Watering Can", 995, 20)]),
    ];
    for (category, entries) in catalog {
        let rows = entries
            .into_iter()
            .map(|(sku, name, cents, stock)| {
                Product::new(Uuid::new_v4(), sku.into(), name.into(), Decimal::new(cents, 2), stock)
            })
            .collect();
        products.create_many(rows, Some(vec![category.into()])).await?;
    }
    let ada = customers.create(Customer::new(Uuid::new_v4(), "Ada".into(), "ada@example.com".into()), None).await?;
    let bob = customers.create(Customer::new(Uuid::new_v4(), "Bob".into(), "bob@example.com".into()), None).await?;
    let all = products.find(QueryBuilder::new().order_by("sku", SortOrder::Asc)).await?;
    let initial_stock: i32 = all.iter().map(|p| p.stock).sum();
    let by_sku = |sku: &str| all.iter().find(|p| p.sku == sku).map(|p| p.id).expect("seeded");
    let (rust_book, sql_guide, chess, puzzle) = (by_sku("BK-1"), by_sku("BK-2"), by_sku("GM-1"), by_sku("GM-2"));
    assert_eq!((all.len(), initial_stock), (5, 39), "five products with 39 units in stock");
    println!("1. seeded {} products in 3 categories ({initial_stock} units) and 2 customers", all.len());

    // 2. Browse: the category page and product page come from the cache on the second read.
    let books_page = || QueryBuilder::new().filter_by_tag("books").order_by("name", SortOrder::Asc);
    let first_view = products.find_cached(books_page()).await?;
    products.get_by_id(&rust_book).await?;
    let before = cache.stats();
    let second_view = products.find_cached(books_page()).await?;
    let product_page = products.get_by_id(&rust_book).await?.ok_or("the book is missing")?;
    let after = cache.stats();
    assert_eq!(first_view.len(), 2, "two books in the books category");
    assert_eq!(
        second_view.iter().map(|p| p.id).collect::<Vec<_>>(),
        first_view.iter().map(|p| p.id).collect::<Vec<_>>(),
        "the cached listing is the one read first"
    );
    assert_eq!((after.hits - before.hits, after.misses - before.misses), (2, 0), "both repeated reads hit the cache");
    println!("2. browsed books twice: the second listing and product page were cache hits");

    // 3. A price change through the versioned record is visible at once, never the cached old price.
    let mut repriced = product_page;
    repriced.price = Decimal::new(3490, 2);
    let saved = products.save(&repriced).await?;
    let read_back = products.get_by_id(&rust_book).await?.ok_or("the book is missing")?;
    let listed = products.find_cached(books_page()).await?;
    assert_eq!(saved.version(), Some(2), "save bumps the version");
    assert_eq!(read_back.price, repriced.price, "get_by_id right after the update sees the new price");
    let listed_price = listed.iter().find(|p| p.id == rust_book).map(|p| p.price);
    assert_eq!(listed_price, Some(repriced.price), "the cached listing sees the new price");
    println!("3. repriced {} to {:.2}: product page and listing show it immediately", read_back.name, read_back.price);

    // 4. Orders: stock is taken and the order written in one transaction; a confirmation follows.
    let ada_order = shop.place_order(ada.id, &[(rust_book, 2), (chess, 1)]).await?;
    let expected = Decimal::from(2) * repriced.price + Decimal::new(2500, 2);
    assert_eq!(ada_order.total, expected, "2 books at the new price and a chess set");
    let book = products.get_by_id(&rust_book).await?.ok_or("the book is missing")?;
    assert_eq!(book.stock, 8, "the cache shows the stock the committed order left");
    let (total, stock) = (ada_order.total, book.stock);
    println!("4. Ada ordered 2 books and a chess set for {total:.2}; the book's stock is now {stock}");
    expect_notice(&mut written, &notifications, ada_order.id, "confirmation").await?;

    // 5. An order for more than the stock rolls back entirely, even the lines taken before it.
    let orders_before = orders.count().await?;
    let refused = shop.place_order(bob.id, &[(sql_guide, 1), (chess, 50)]).await;
    assert!(matches!(refused, Err(OrderError::OutOfStock { product, .. }) if product == chess), "{refused:?}");
    let guide = products.get_by_id(&sql_guide).await?.ok_or("the guide is missing")?;
    assert_eq!(guide.stock, 3, "the guide taken before the failing line was put back by the rollback");
    assert_eq!(products.get_by_id(&chess).await?.map(|p| p.stock), Some(4), "chess stock unchanged");
    assert_eq!(orders.count().await?, orders_before, "no order was written");
    assert_eq!(shop.items.count().await?, 2, "only Ada's two order lines exist");
    println!("5. Bob's order of 50 chess sets was refused ({}); nothing of it was kept", refused.unwrap_err());

    // 6. Two customers race for the last puzzle: the conditional decrement lets exactly one win.
    let last_puzzle = [(puzzle, 1)];
    let (ada_try, bob_try) =
        tokio::join!(shop.place_order(ada.id, &last_puzzle), shop.place_order(bob.id, &last_puzzle));
    let winner = match (ada_try, bob_try) {
        (Ok(order), Err(OrderError::OutOfStock { .. })) | (Err(OrderError::OutOfStock { .. }), Ok(order)) => order,
        other => return Err(format!("expected one winner and one out-of-stock, got {other:?}").into()),
    };
    assert_eq!(products.get_by_id(&puzzle).await?.map(|p| p.stock), Some(0), "the puzzle is sold out");
    let name = if winner.customer_id == ada.id { "Ada" } else { "Bob" };
    println!("6. Ada and Bob both tried to buy the last puzzle: {name} got it, the other was told it is sold out");
    expect_notice(&mut written, &notifications, winner.id, "confirmation").await?;

    // 7. Bob buys guides, then cancels: the status changes, the stock comes back, a notice follows.
    let bob_order = shop.place_order(bob.id, &[(sql_guide, 2)]).await?;
    expect_notice(&mut written, &notifications, bob_order.id, "confirmation").await?;
    assert_eq!(products.get_by_id(&sql_guide).await?.map(|p| p.stock), Some(1), "two guides taken");
    shop.cancel_order(bob_order.id).await?;
    assert_eq!(products.get_by_id(&sql_guide).await?.map(|p| p.stock), Some(3), "the guides are back in stock");
    let status = orders.get_by_id(&bob_order.id).await?.map(|o| o.status.clone());
    assert_eq!(status.as_deref(), Some(CANCELLED), "the order is marked cancelled");
    println!("7. Bob ordered 2 guides for {:.2} and cancelled; the stock is back to 3", bob_order.total);
    expect_notice(&mut written, &notifications, bob_order.id, "cancellation").await?;
    let twice = shop.cancel_order(bob_order.id).await;
    assert!(matches!(twice, Err(StoreError::Validation { .. })), "a second cancel is refused: {twice:?}");

    // 8. Receipts: the placed orders, each with its customer (joined into the orders' statement)
    //    and its lines, each line with its product. Three statements however many orders and
    //    lines there are, where reading them order by order would take one per order and line.
    let placed_only = || QueryBuilder::new().filter(Order::columns().status.eq(PLACED));
    let most_first = QueryBuilder::new().order_by("quantity", SortOrder::Desc);
    let receipts = orders
        .find_with(
            placed_only().order_by("__created_at__", SortOrder::Asc),
            (Order::customer().joined(), Order::items().query(most_first).with(OrderItem::product())),
        )
        .await?;
    println!("8. receipts of the placed orders, read in 3 statements:");
    let (mut revenue, mut units_sold) = (Decimal::ZERO, 0);
    for receipt in &receipts {
        let customer = receipt.one(Order::customer()).ok_or("an order without its customer")?;
        let (mut lines, mut lines_value) = (Vec::new(), Decimal::ZERO);
        for item in receipt.related(Order::items()) {
            let product = item.one(OrderItem::product()).ok_or("a line without its product")?;
            lines.push(format!("{} x {} at {:.2}", item.quantity, product.name, item.unit_price));
            lines_value += item.unit_price * Decimal::from(item.quantity);
            units_sold += item.quantity;
        }
        assert_eq!(lines_value, receipt.total, "the lines of order {} add up to its total", short(receipt.id));
        revenue += receipt.total;
        println!("   order {} for {}: {} = {:.2}", short(receipt.id), customer.name, lines.join(", "), receipt.total);
    }
    let first_lines: Vec<&str> = receipts[0]
        .related(Order::items())
        .iter()
        .map(|i| i.one(OrderItem::product()).map_or("?", |p| p.sku.as_str()))
        .collect();
    assert_eq!(first_lines, ["BK-1", "GM-1"], "Ada's first order: the two books, then the chess set");

    // The report. Placed orders per customer are counted without loading them (one `GROUP BY`);
    // the customers who bought a book are found with one `EXISTS` inside another, through the
    // orders' products. Bob's guides do not count: that order was cancelled.
    let cancelled = orders.count_where(QueryBuilder::new().filter(Order::columns().status.eq(CANCELLED))).await?;
    let stock_left: i32 = products.list_all().await?.iter().map(|p| p.stock).sum();
    let by_name = QueryBuilder::new().order_by("name", SortOrder::Asc);
    let buyers = customers.find_with(by_name.clone(), Customer::orders().query(placed_only()).with_count()).await?;
    let per_customer: Vec<(&str, u64)> =
        buyers.iter().map(|c| (c.name.as_str(), c.count(Customer::orders()).unwrap_or(0))).collect();
    let with_a_book = QueryFilter::has_where(Order::products(), QueryFilter::has_any_tag(["books"]));
    let bought_a_book = QueryFilter::has_where(
        Customer::orders(),
        QueryFilter::and(vec![Order::columns().status.eq(PLACED), with_a_book]),
    );
    let readers: Vec<String> =
        customers.find(by_name.filter(bought_a_book)).await?.iter().map(|c| c.name.clone()).collect();
    let ada_placed = if winner.customer_id == ada.id { 2 } else { 1 };
    assert_eq!((receipts.len(), cancelled), (2, 1), "two placed orders and one cancelled");
    assert_eq!(revenue, ada_order.total + winner.total, "revenue is the totals of the orders that stand");
    assert_eq!(stock_left + units_sold, initial_stock, "every unit is either in stock or sold");
    assert_eq!(notifications.count().await?, 4, "three confirmations and one cancellation, none for refusals");
    assert_eq!(per_customer, [("Ada", ada_placed), ("Bob", 2 - ada_placed)], "placed orders per customer");
    assert_eq!(readers, ["Ada"], "only Ada has a placed order with a book in it");
    let placed = receipts.len();
    println!("   report: {placed} placed, {cancelled} cancelled, revenue {revenue:.2}, {units_sold} units sold");
    println!("   placed orders per customer: {per_customer:?}; customers who bought a book: {readers:?}");

    // 9. The database keeps orders whole. A product that order lines refer to cannot be deleted
    //    (`RESTRICT`). Deleting Bob's cancelled order deletes its lines and its notices with it
    //    (`CASCADE`), after which the guide is in no order and can be deleted.
    let refused = products.delete(&rust_book).await;
    assert!(matches!(refused, Err(StoreError::ForeignKeyViolation { .. })), "the book is in Ada's order: {refused:?}");
    assert!(products.get_by_id(&rust_book).await?.is_some(), "the book is still in the catalog");
    println!("9. deleting {}, which Ada ordered, was refused:", read_back.name);
    println!("   {}", refused.unwrap_err());
    let bob_lines = || QueryBuilder::new().filter(OrderItem::columns().order_id.eq(bob_order.id));
    assert_eq!(shop.items.count_where(bob_lines()).await?, 1, "Bob's cancelled order has one line");
    assert!(orders.delete(&bob_order.id).await?, "the cancelled order is deleted");
    assert_eq!(shop.items.count_where(bob_lines()).await?, 0, "its line went with it");
    assert_eq!(notifications.count().await?, 2, "its confirmation and cancellation notices went with it");
    assert!(products.delete(&sql_guide).await?, "no order line refers to the guide any more");
    println!("   deleted Bob's cancelled order with its line and its 2 notices; then the guide, in no order now");

    cache.forget_table(&params.table(Product::TABLE.name)).await?;
    signals.shutdown().await;
    shop.storehaus.close().await;
    println!("all checks passed");
    Ok(())
}
