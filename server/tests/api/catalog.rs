//! The catalog list pages by topic name (keyset): every topic is shown once, in order, forwards
//! and backwards, with the filters kept, and nothing is counted.

use crate::helpers::{Form, TestApp, user};
use app::domain::Role;
use serde_json::Value;
use sqlx::PgPool;

/// 125 topics in two domains; names sort as `paged_000` ... `paged_124`.
async fn topics(pool: &PgPool) {
    sqlx::raw_sql(
        "insert into team (slug, display_name) values ('pagers', 'Pagers');
         insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                data_classification, contains_pii, partitions, retention_ms, cleanup_policy)
         select gen_random_uuid(), format('paged_%s', lpad(n::text, 3, '0')), 'Paged topic',
                'A topic of the paging test.', case when n % 2 = 0 then 'even' else 'odd' end,
                'production', 'pagers', 'low', false, 1, 604800000, 'delete'
           from generate_series(0, 124) n;",
    )
    .execute(pool)
    .await
    .expect("topics");
}

fn names(page: &Value) -> Vec<String> {
    page["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_catalog_pages_by_name_forwards_and_backwards_keeping_its_filters(pool: PgPool) {
    topics(&pool).await;
    let app = TestApp::spawn(pool).await;
    let viewer = app
        .session_cookie_for(&user("val", &[Role::Viewer], &[]))
        .await;
    let list = |form: Form| app.page("catalog/topics", &viewer, form);

    // Forwards: 50, 50, 25, each after the last name of the one before.
    let pages = app
        .pages_forward("catalog/topics", &viewer, |page| {
            page["next"]
                .as_str()
                .map(|after| Form::new().field("filter[after]", after))
        })
        .await;
    let seen: Vec<String> = pages.iter().flat_map(names).collect();
    let expected: Vec<String> = (0..125).map(|n| format!("paged_{n:03}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0]["previous"], Value::Null);
    assert_eq!(pages[1]["previous"], "paged_050");
    assert_eq!(pages[2]["next"], Value::Null);
    assert!(pages[0].get("total").is_none(), "nothing is counted");

    // Backwards from the last page: the second page again, then the first.
    let second = list(Form::new().field("filter[before]", "paged_100")).await;
    assert_eq!(names(&second), expected[50..100]);
    assert_eq!(second["previous"], "paged_050");
    assert_eq!(second["next"], "paged_099");
    let first = list(Form::new().field("filter[before]", "paged_050")).await;
    assert_eq!(names(&first), expected[..50]);
    assert_eq!(first["previous"], Value::Null);

    // A filter is kept across pages: the odd domain has 62 topics.
    let odd = list(Form::new().field("filter[domain]", "odd")).await;
    let rest = list(
        Form::new()
            .field("filter[domain]", "odd")
            .field("filter[after]", odd["next"].as_str().expect("a next page")),
    )
    .await;
    let odd_names: Vec<String> = names(&odd).into_iter().chain(names(&rest)).collect();
    let expected_odd: Vec<String> = (0..125)
        .filter(|n| n % 2 == 1)
        .map(|n| format!("paged_{n:03}"))
        .collect();
    assert_eq!(odd_names, expected_odd);
    assert_eq!(rest["next"], Value::Null);
    // Every domain is offered, once.
    assert_eq!(odd["domains"], serde_json::json!(["even", "odd"]));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_page_is_reused_until_the_catalog_changes_whoever_changes_it(pool: PgPool) {
    topics(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let viewer = app
        .session_cookie_for(&user("val", &[Role::Viewer], &[]))
        .await;

    let first = app.page("catalog/topics", &viewer, Form::new()).await;
    let hits = app.listings.catalog.hits();
    let again = app.page("catalog/topics", &viewer, Form::new()).await;
    assert_eq!(again, first);
    assert_eq!(
        app.listings.catalog.hits(),
        hits + 1,
        "the second read reuses the page"
    );

    // Another writer (a worker, another server, an operator's SQL) adds a topic, renames one and
    // adds a team: the next pages show all three.
    sqlx::raw_sql(
        "insert into team (slug, display_name) values ('latecomers', 'Latecomers');
         insert into topic (id, name, title, description, business_domain, lifecycle, owning_team,
                data_classification, contains_pii, partitions, retention_ms, cleanup_policy)
         values (gen_random_uuid(), 'paged_000a', 'A late topic', 'Added after the page was read.',
                 'late', 'production', 'latecomers', 'low', false, 1, 604800000, 'delete');
         update topic set title = 'Renamed' where name = 'paged_001';",
    )
    .execute(&pool)
    .await
    .expect("another writer's change");
    let changed = app
        .page_until("catalog/topics", &viewer, Form::new, |page| {
            names(page).get(1).is_some_and(|n| n == "paged_000a")
        })
        .await;
    assert_eq!(changed["topics"][2]["title"], "Renamed");
    // The drawn page is kept and replaced with the page.
    let rows = changed["listing"].as_str().expect("listing");
    assert!(
        rows.contains("Renamed") && rows.contains("A late topic"),
        "{rows}"
    );
    assert_eq!(
        changed["domains"],
        serde_json::json!(["even", "late", "odd"])
    );
    assert!(
        changed["teams"]
            .as_array()
            .expect("teams")
            .contains(&Value::from("latecomers"))
    );

    // A topic's environments are part of its row.
    sqlx::raw_sql(
        "insert into topic_environment (topic_id, environment)
         select id, 'sandbox' from topic where name = 'paged_000'",
    )
    .execute(&pool)
    .await
    .expect("an environment");
    app.page_until("catalog/topics", &viewer, Form::new, |page| {
        page["topics"][0]["environments"] == serde_json::json!(["sandbox"])
    })
    .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_page_of_my_teams_topics_is_not_another_members(pool: PgPool) {
    topics(&pool).await;
    sqlx::raw_sql(
        "insert into team (slug, display_name) values ('others', 'Others');
         update topic set owning_team = 'others' where name in ('paged_003', 'paged_007');",
    )
    .execute(&pool)
    .await
    .expect("a second team's topics");
    let app = TestApp::spawn(pool).await;
    let pager = app
        .session_cookie_for(&user("pat", &[Role::Member], &["pagers"]))
        .await;
    let other = app
        .session_cookie_for(&user("oli", &[Role::Member], &["others"]))
        .await;
    let mine = || Form::new().field("filter[mine]", "1");
    // Each twice: the second read of each is reused, and still the caller's own.
    for _ in 0..2 {
        let theirs = app.page("catalog/topics", &other, mine()).await;
        assert_eq!(names(&theirs), ["paged_003", "paged_007"]);
        let ours = app.page("catalog/topics", &pager, mine()).await;
        assert_eq!(names(&ours).len(), 50);
        assert!(!names(&ours).contains(&"paged_003".to_owned()));
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_page_is_drawn_once_on_the_server_escaped_and_left_out_of_the_hydration_data(
    pool: PgPool,
) {
    topics(&pool).await;
    sqlx::raw_sql("update topic set title = '<b>Bold</b> & \"quoted\"' where name = 'paged_000'")
        .execute(&pool)
        .await
        .expect("a title with markup");
    let app = TestApp::spawn(pool).await;
    let viewer = app
        .session_cookie_for(&user("val", &[Role::Viewer], &[]))
        .await;

    // The server function carries the page drawn and escaped, for pages the browser loads.
    let page = app.page("catalog/topics", &viewer, Form::new()).await;
    let listing = page["listing"].as_str().expect("listing");
    assert_eq!(
        listing.matches("<tr>").count(),
        51,
        "a head row and 50 topics"
    );
    assert_eq!(page["shown"], 50);
    assert_eq!(page["topics"].as_array().map(Vec::len), Some(50));
    assert!(
        listing.contains(r#"<tr><td><a href="/catalog/paged_000"><code>paged_000"#),
        "{listing}"
    );
    assert!(
        listing.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; &quot;quoted&quot;")
            || listing.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; \"quoted\""),
        "{listing}"
    );
    assert!(!listing.contains("<b>"), "{listing}");
    assert!(
        listing.contains(r#"<a href="/catalog?after=paged%5F049" rel="next">"#),
        "{listing}"
    );

    // The filters as chosen, and the links to the pages beside keep them.
    let filtered = app
        .page(
            "catalog/topics",
            &viewer,
            Form::new()
                .field("filter[q]", "paged <x>")
                .field("filter[domain]", "even")
                .field("filter[lifecycle]", "production"),
        )
        .await;
    let listing = filtered["listing"].as_str().expect("listing");
    assert!(listing.contains(r#"value="paged &lt;x&gt;""#), "{listing}");
    assert!(
        listing.contains(r#"<option value="even" selected>"#),
        "{listing}"
    );
    assert!(
        !listing.contains(r#"<option value="odd" selected>"#),
        "{listing}"
    );
    assert!(
        listing.contains(r#"<option value="production" selected>"#),
        "{listing}"
    );
    assert!(listing.contains("No topics match."), "{listing}");
    let even = app
        .page(
            "catalog/topics",
            &viewer,
            Form::new()
                .field("filter[domain]", "even")
                .field("filter[after]", "paged_010"),
        )
        .await;
    let listing = even["listing"].as_str().expect("listing");
    assert!(
        listing.contains(r#"<a href="/catalog?domain=even&amp;before=paged%5F012" rel="prev">"#)
            && listing
                .contains(r#"<a href="/catalog?domain=even&amp;after=paged%5F110" rel="next">"#),
        "{listing}"
    );

    // The page holds it once, as markup: its hydration data leaves it out.
    let html = app
        .get_as("/catalog", &viewer)
        .await
        .text()
        .await
        .expect("the page");
    assert_eq!(html.matches("/catalog/paged_000").count(), 1);
    assert_eq!(html.matches("/catalog/paged_049").count(), 1);
    assert!(
        html.contains("<tbody><tr>"),
        "the rows are inside the table body"
    );
    assert!(!html.contains("<b>Bold"), "the title is escaped");
    // The topics themselves are not in the hydration data either: each title is in the page
    // once, and so is each choice of a filter.
    assert_eq!(html.matches("Paged topic").count(), 49);
    assert_eq!(html.matches(r#"<option value="pagers">pagers"#).count(), 1);
    assert_eq!(
        html.matches("pagers").count(),
        50 + 2,
        "in the rows and the team filter only, not in the hydration data"
    );
    assert!(html.contains("50 topics shown, from paged_000 to paged_049"));
}

/// The server answers the catalog from its in-memory topic index while it hears changes, and
/// with SQL otherwise: both give the same page for every filter, page and search, whatever the
/// names' punctuation and case, the search's case and wildcard characters, or a page boundary
/// that names no topic.
#[sqlx::test(migrations = "../migrations")]
async fn the_topic_index_answers_every_page_as_the_sql_does(pool: PgPool) {
    use app::catalog::CatalogFilter;
    use app::catalog::index::TopicIndex;
    use app::catalog::store::{ParsedFilter, list, suggest};

    // 240 topics whose names differ only in punctuation and case ('-' < '.' < '0' < 'Z' < '_'
    // < 'a' byte by byte; many locales order them otherwise), in three domains, two teams, two
    // lifecycles, some without environments.
    sqlx::raw_sql(
        "insert into team (slug, display_name) values ('pagers', 'Pagers'), ('others', 'Others');
         insert into topic (id, name, title, description, business_domain, lifecycle, removal_date,
                owning_team, data_classification, contains_pii, partitions, retention_ms,
                cleanup_policy)
         select gen_random_uuid(),
                (array['orders', 'Orders', 'order', 'pay'])[1 + n % 4]
                  || (array['-', '.', '_', '0', 'Z', 'a'])[1 + (n / 4) % 6] || n::text,
                (array['Order placed', 'ÜBER Refund', 'Paid 50% off', 'Claim_filed'])[1 + n % 4],
                'What happened: ' || (array['a parcel left', 'über alles', 'x_y'])[1 + n % 3] || '.',
                (array['sales', 'claims', 'Sales'])[1 + n % 3],
                case when n % 7 = 0 then 'deprecated'::lifecycle else 'production' end,
                case when n % 7 = 0 then date '2027-01-01' end,
                case when n % 5 = 0 then 'others' else 'pagers' end,
                'low', false, 1, 604800000, 'delete'
           from generate_series(0, 239) n;
         insert into topic_environment (topic_id, environment)
         select id, e from topic, unnest(array['sandbox', 'production']) e
          where name not like 'pay%' and (e = 'sandbox' or name like 'o%');",
    )
    .execute(&pool)
    .await
    .expect("topics");
    let index = TopicIndex::read(&pool).await.expect("the index reads");
    assert_eq!(index.len(), 240);
    let mut names: Vec<String> = sqlx::query_scalar("select name from topic")
        .fetch_all(&pool)
        .await
        .expect("names");
    names.sort();
    let member = user("mia", &[Role::Member], &["others"]);

    let searches = [
        None,
        Some("order"),
        Some("ORDERS"),
        Some("über"),
        Some("über refund"),
        Some("50%"),
        Some("_f"),
        Some("%"),
        Some("left. "),
        Some("0"),
        Some("absent words"),
    ];
    let mut cursors = vec![(None, None)];
    for name in [&names[0], &names[37], &names[120], &names[239]] {
        cursors.push((Some(name.clone()), None));
        cursors.push((None, Some(name.clone())));
    }
    // Between two names, and before and after them all.
    for bound in ["order.5", "Orders", "0", "~"] {
        cursors.push((Some(bound.to_owned()), None));
        cursors.push((None, Some(bound.to_owned())));
    }
    let mut compared = 0;
    for q in searches {
        for (domain, lifecycle, team, mine) in [
            (None, None, None, None),
            (Some("sales"), None, None, None),
            (None, Some("deprecated"), None, None),
            (Some("claims"), Some("production"), Some("pagers"), None),
            (None, None, None, Some("on")),
        ] {
            for (after, before) in &cursors {
                let filter = ParsedFilter::parse(
                    CatalogFilter {
                        q: q.map(str::to_owned),
                        domain: domain.map(str::to_owned),
                        lifecycle: lifecycle.map(str::to_owned),
                        team: team.map(str::to_owned),
                        mine: mine.map(str::to_owned),
                        after: after.clone(),
                        before: before.clone(),
                    },
                    &member,
                )
                .expect("a valid filter");
                let from_sql = list(&pool, &filter).await.expect("the SQL reads");
                assert_eq!(index.page(&filter), from_sql, "{filter:?}");
                compared += usize::from(from_sql.shown > 0);
            }
        }
    }
    assert!(
        compared > 300,
        "most pages compared show topics: {compared}"
    );
    for text in ["order", "ORD", "s.1", "über", "refund", "pay_", "zzz"] {
        assert_eq!(
            index.suggest(text),
            suggest(&pool, text).await.expect("the SQL suggests"),
            "{text}"
        );
    }
}
