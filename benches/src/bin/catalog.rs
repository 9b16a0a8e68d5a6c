//! Catalog and approvals benchmark: seeds a realistic data set into its own database, serves the
//! portal in-process (as the integration tests do) and measures the catalog list, catalog search
//! and approvals queue, unloaded and under 50 and 200 concurrent clients, beside a static file of
//! the catalog page's size served by the same server (the reference their throughput is a share
//! of), with the rows each request reads from the portal's tables and its session lookups. The
//! catalog's and the queue's pages are reused from the server's page caches while nothing
//! changes, as in production (the relay of `listing_changed` runs here too); the DATABASE SHARE
//! section times the uncached reads. It prints numbers; it is not a test and exits 0 when a
//! target is missed (non-zero only when set-up fails).
//!
//! Run it with `dev/bench`. Knobs (environment):
//!   BENCH_REQUESTS  requests in each sequential run (default 300)
//!   BENCH_SECONDS   length of each concurrent run in seconds (default 10)
//!   BENCH_CLIENTS   concurrent clients, comma-separated (default 50,200)
//!   BENCH_KEEP_DB=1 keep the `event_bus_portal_bench` database afterwards (for EXPLAIN ANALYZE)
//!   BENCH_ONLY      only workloads whose name contains one of these comma-separated words
//!   BENCH_SEED_SQL  a file of plain SQL that seeds the database instead of the bench's own steps
//!                   (`dev/bench-seed.sql`: the same sizes, made another way)
//!   RUST_LOG        install the server's log subscriber (e.g. RUST_LOG=error: why requests failed)
//!   BENCH_AFTER_SEED_SQL  a file of SQL run after seeding, to try a candidate index or setting
//!                   on the bench database only (e.g. `create index ...;` or
//!                   `alter database event_bus_portal_bench set plan_cache_mode = force_custom_plan;`)

use anyhow::{Context, bail};
use app::catalog::CatalogPage;
use app::domain::{Role, TeamSlug, UserIdentity};
use app::requests::QueuePage;
use secrecy::{ExposeSecret, SecretString};
use server::config::Settings;
use server::{db, startup};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tower_sessions_sqlx_store::PostgresStore;

use benches::*;

const BENCH_DB: &str = "event_bus_portal_bench";
/// Sequential requests before each measured workload (connections, plan caches, allocator).
const WARM_UP: usize = 30;
/// The governance approver whose queue is measured: decided some requests already, so the
/// "never twice on one request" filter has work to do.
const APPROVER: &str = "gov-approver-01";
const MEMBER: &str = "member-0001";
/// Words people type into the catalog search: common, rare, multi-word and absent ones.
const SEARCH_WORDS: &[&str] = &[
    "claim",
    "appointment",
    "address",
    "refill",
    "payment",
    "warehouse",
    "vaccination",
    "letter",
    "status changed",
    "headstone",
    "idempotent",
    "kafka streams",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::from_env()?;
    let mut settings = Settings::load().context("loading the portal configuration")?;
    if std::env::var_os("RUST_LOG").is_some() {
        // The server's own logs (e.g. RUST_LOG=error shows why a request failed).
        server::telemetry::init(&settings.log);
    }
    let admin_url = std::env::var("EBP_DATABASE_URL")
        .unwrap_or_else(|_| settings.database.url.expose_secret().to_owned());
    let bench_url = with_database(&admin_url, BENCH_DB)?;

    let mut admin = PgConnection::connect(&admin_url)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact(&admin_url)))?;
    recreate_database(&mut admin, BENCH_DB).await?;
    settings.database.url = SecretString::from(bench_url.clone());

    let outcome = run(settings, &bench_url, &options).await;

    if options.keep_db {
        println!(
            "\nBENCH_KEEP_DB=1: kept database {BENCH_DB} ({})",
            redact(&bench_url)
        );
    } else {
        sqlx::raw_sql(&format!("drop database if exists {BENCH_DB} with (force)"))
            .execute(&mut admin)
            .await
            .context("dropping the bench database")?;
    }
    outcome
}

struct Options {
    sequential: usize,
    /// `BENCH_AFTER_SEED_SQL`: a file of SQL run after seeding (path, text), to try a candidate
    /// index or setting on the bench database only.
    after_seed: Option<(String, String)>,
    /// `BENCH_SEED_SQL`: a file of plain SQL that seeds the database instead of the bench's own
    /// steps (path, text), so the figures can be checked against data made another way.
    seed_sql: Option<(String, String)>,
    /// `BENCH_ONLY`: run only workloads whose name contains one of these words.
    only: Vec<String>,
    duration: Duration,
    clients: Vec<usize>,
    keep_db: bool,
}

impl Options {
    fn from_env() -> anyhow::Result<Self> {
        let clients = std::env::var("BENCH_CLIENTS").unwrap_or_else(|_| "50,200".into());
        let clients = clients
            .split(',')
            .map(|c| {
                c.trim()
                    .parse::<usize>()
                    .with_context(|| format!("BENCH_CLIENTS: {c:?} is not a number"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        /// The SQL file a variable names (path, text), if it names one.
        fn sql_file(variable: &str) -> anyhow::Result<Option<(String, String)>> {
            match std::env::var(variable) {
                Ok(path) if !path.is_empty() => {
                    let sql = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {variable} {path}"))?;
                    Ok(Some((path, sql)))
                }
                _ => Ok(None),
            }
        }
        let after_seed = sql_file("BENCH_AFTER_SEED_SQL")?;
        let seed_sql = sql_file("BENCH_SEED_SQL")?;
        let only = std::env::var("BENCH_ONLY")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self {
            after_seed,
            seed_sql,
            only,
            sequential: usize::try_from(env_number::<u64>("BENCH_REQUESTS", 300)?)?.max(1),
            duration: Duration::from_secs(env_number::<u64>("BENCH_SECONDS", 10)?.max(1)),
            clients,
            keep_db: std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1"),
        })
    }
}

async fn run(mut settings: Settings, bench_url: &str, options: &Options) -> anyhow::Result<()> {
    // The schema (the migrations the server runs at start), the data and any candidate SQL come
    // first, so every connection the portal's pool opens later sees them (settings included).
    let seed_pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(bench_url)
        .await
        .context("connecting to the bench database")?;
    db::migrate(&seed_pool).await?;
    let mut seed_conn = seed_pool.acquire().await?;
    let seed_time = seed(&mut seed_conn, options).await?;
    let dataset = dataset_summary(&mut seed_conn).await?;
    let pg_version: String = sqlx::query_scalar("show server_version")
        .fetch_one(&mut *seed_conn)
        .await?;
    let member_teams: Vec<String> =
        sqlx::query_scalar("select groups from app_user where subject = $1")
            .bind(MEMBER)
            .fetch_one(&mut *seed_conn)
            .await
            .context("reading the member's groups")?;
    drop(seed_conn);
    seed_pool.close().await;

    // A site folder of its own, for the static reference file (written once the size of the
    // catalog page is known).
    let site = std::env::temp_dir().join(format!("portal-bench-site-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).context("creating the bench site folder")?;
    settings.server.site_root = site.to_string_lossy().into_owned();

    // The portal, built and served exactly as the integration tests do.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding a free port")?;
    let port = listener.local_addr().context("local address")?.port();
    settings.server.port = port;
    settings.server.public_url = format!("http://127.0.0.1:{port}")
        .parse()
        .context("public url")?;
    let pool_size = settings.database.max_connections;
    let pool = db::pool(&settings.database)?;
    let application = startup::build(settings, pool)
        .await
        .context("building the application")?;
    let store = application.session_store.clone();
    // The relay of listing changes to the page caches, as the server runs it.
    let mut background = server::background::Supervisor::default();
    background.spawn_task(server::events::ListingListener::new(
        application.state.db.clone(),
        application.listings.clone(),
    ));
    background.spawn_task(server::events::TopicIndexer::new(
        application.state.db.clone(),
        application.listings.clone(),
    ));
    tokio::time::timeout(
        Duration::from_secs(10),
        application
            .listings
            .relay()
            .wait_for(|listening| *listening),
    )
    .await
    .context("the listing relay did not listen within 10 s")?
    .context("the listing relay stopped")?;
    let portal_db = application.state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = server::startup::serve(listener, application.router).await {
            eprintln!("the portal stopped: {e}");
        }
    });
    let base = format!("http://127.0.0.1:{port}");

    let member = UserIdentity {
        subject: MEMBER.into(),
        display_name: "Member 1".into(),
        roles: vec![Role::Member],
        teams: member_teams
            .iter()
            .filter_map(|g| g.strip_prefix("team-"))
            .map(|t| TeamSlug::parse(t).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?,
    };
    let approver = UserIdentity {
        subject: APPROVER.into(),
        display_name: "Governance Approver 01".into(),
        roles: vec![Role::Approver],
        teams: vec![],
    };
    // A team approver of the team with the most requests waiting for its approval: their queue
    // is found among every submitted request, most of which wait for other teams.
    let busiest_team: String = sqlx::query_scalar(
        "select team_slug from approval_slot
          where slot = 'owning_team' and decided_by is null
          group by team_slug order by count(*) desc, team_slug limit 1",
    )
    .fetch_one(&portal_db)
    .await
    .context("finding the team with the most waiting approvals")?;
    let team_approver = UserIdentity {
        subject: format!("team-approver-{busiest_team}"),
        display_name: format!("Approver for {busiest_team}"),
        roles: vec![Role::Member, Role::TeamApprover],
        teams: vec![TeamSlug::parse(busiest_team.as_str()).map_err(anyhow::Error::msg)?],
    };
    let member_cookie = session_cookie_for(&store, &member).await?;
    let approver_cookie = session_cookie_for(&store, &approver).await?;
    let team_approver_cookie = session_cookie_for(&store, &team_approver).await?;

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;

    let reference = write_static_reference(&client, &base, &member_cookie, &site).await?;
    let deep_cursors = deep_cursors(&portal_db).await?;
    let queue_cursors = queue_cursors(&portal_db).await?;
    let workloads = workloads(
        &member_cookie,
        &approver_cookie,
        &team_approver_cookie,
        &deep_cursors,
        &queue_cursors,
    );
    let mut checks = validate(&client, &base, &workloads).await?;
    checks.push(reference);

    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("\n== set-up");
    let load_before = load_average();
    println!("machine      : {nproc} CPUs (nproc), PostgreSQL {pg_version}, loopback HTTP");
    println!("load average : {load_before} (1, 5, 15 min) before measuring");
    println!("profile      : {profile}");
    println!(
        "portal pool  : {pool_size} database connections (database.max_connections), acquire timeout 3 s"
    );
    println!(
        "seed         : {:.2} s  ({dataset}), by {}",
        seed_time.as_secs_f64(),
        options
            .seed_sql
            .as_ref()
            .map_or("the bench's own steps", |(path, _)| path.as_str())
    );
    if let Some((path, sql)) = &options.after_seed {
        println!("candidate    : BENCH_AFTER_SEED_SQL={path}:");
        for line in sql.lines().filter(|l| !l.trim().is_empty()) {
            println!("                 {line}");
        }
    }
    for line in &checks {
        println!("check        : {line}");
    }
    println!(
        "plan         : {WARM_UP} warm-up, {} sequential, then {} s closed loop at {:?} clients, per workload",
        options.sequential,
        options.duration.as_secs(),
        options.clients
    );

    let mut rows = Vec::new();
    let selected = workloads.iter().filter(|w| {
        options.only.is_empty() || options.only.iter().any(|o| w.name.contains(o.as_str()))
    });
    for workload in selected {
        let workload = Arc::new(workload.clone());
        println!("\n== {}   (load average {})", workload.name, load_average());
        sequential(&client, &base, &workload, WARM_UP).await;
        let phases = std::iter::once(None).chain(options.clients.iter().copied().map(Some));
        for clients in phases {
            let before = scrape(&client, &base).await;
            // Rows read are counted in the sequential phase, where nothing else runs.
            let reads_before = match clients {
                None => Some(settled_reads(&portal_db).await?),
                Some(_) => None,
            };
            let stats = match clients {
                None => sequential(&client, &base, &workload, options.sequential).await,
                Some(n) => closed_loop(&client, &base, &workload, n, options.duration).await,
            };
            let after = scrape(&client, &base).await;
            let reads = match reads_before {
                Some(before) => Some(settled_reads(&portal_db).await?.since(before)),
                None => None,
            };
            let server = server_delta(before, after, &workload);
            let mut row = Row::new(&workload, clients, stats, server);
            row.reads = reads.map(|r| r.per_request(row.requests));
            println!("{}", row.line());
            rows.push(row);
        }
        if options.clients.contains(&WRK_CLIENTS) {
            let before = scrape(&client, &base).await;
            let run = wrk_closed_loop(&base, &workload, WRK_CLIENTS, options.duration).await?;
            let after = scrape(&client, &base).await;
            if let Some(run) = run {
                let server = server_delta(before, after, &workload);
                let mut row = Row::from_wrk(&workload, WRK_CLIENTS, &run, server);
                // wrk counts a redirect (to sign in) as an answer: every request must have
                // reached the workload's route, as its histogram on the server shows.
                let reached = row.server.as_ref().map_or(0, Histogram::count);
                if reached < run.requests {
                    row.errors = row.errors.max(run.requests - reached);
                    row.first_error = Some(format!(
                        "the server's route saw {reached} of wrk's {} requests",
                        run.requests
                    ));
                }
                println!("{}", row.line());
                rows.push(row);
            }
        }
    }

    let load = format!("{load_before} before, {} after", load_average());
    print_report(&rows, nproc, profile, seed_time, &dataset, &load);
    print_page_sources(&client, &base).await;
    breakdown(&portal_db, &member, &approver, options.sequential).await?;
    plan_cache(&portal_db).await?;
    let _ = std::fs::remove_dir_all(&site);
    Ok(())
}

/// How the listings' pages were served over the whole run: reused from the page caches, or read
/// from the database. The workloads repeat their pages, so nearly all are reused; a page nobody
/// asked for since the last change costs what DATABASE SHARE shows, plus the rendering.
async fn print_page_sources(client: &reqwest::Client, base: &str) {
    let Ok(metrics) = scrape(client, base).await else {
        println!("\nPAGE SOURCES: /metrics could not be read");
        return;
    };
    println!(
        "\nPAGE SOURCES (listing_pages_total, the whole run; hit = reused, miss = read and kept)"
    );
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("listing_pages_total"))
    {
        println!("  {line}");
    }
}

/// Writes `pkg/reference.html`, a file as large as the catalog page, which the server sends from
/// its static files: the machine's reference for what the same server does without any work.
async fn write_static_reference(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    site: &std::path::Path,
) -> anyhow::Result<String> {
    let (status, page) = fetch(client, base, cookie, &Call::Get("/catalog".into()))
        .await
        .map_err(anyhow::Error::msg)?;
    if !status.is_success() {
        bail!("GET /catalog answered {status}");
    }
    let line = b"<p>The static reference: a file the size of the catalog page.</p>\n";
    let reference: Vec<u8> = line.iter().copied().cycle().take(page.len()).collect();
    std::fs::write(site.join("pkg/reference.html"), &reference)
        .context("writing the static reference")?;
    Ok(format!(
        "static reference: /pkg/reference.html, {} bytes (the size of GET /catalog)",
        reference.len()
    ))
}

/// What PostgreSQL's statistics count as read from the portal's tables: rows read by sequential
/// scans and index entries read by index scans (index-only scans included), and lookups of the
/// session table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TableReads {
    rows: i64,
    session_lookups: i64,
}

impl TableReads {
    fn since(self, before: TableReads) -> TableReads {
        TableReads {
            rows: self.rows - before.rows,
            session_lookups: self.session_lookups - before.session_lookups,
        }
    }

    fn per_request(self, requests: usize) -> (f64, f64) {
        let n = requests.max(1) as f64;
        (self.rows as f64 / n, self.session_lookups as f64 / n)
    }
}

/// The statistics once every backend has reported: each reports within a second of going idle,
/// so the counts are read until they have not moved for 1.5 s (at most 20 s).
async fn settled_reads(db: &sqlx::PgPool) -> anyhow::Result<TableReads> {
    async fn read(db: &sqlx::PgPool) -> anyhow::Result<TableReads> {
        let (rows, session_lookups): (i64, i64) = sqlx::query_as(
            "select (select coalesce(sum(seq_tup_read), 0) from pg_stat_user_tables)::bigint
                    + (select coalesce(sum(idx_tup_read), 0) from pg_stat_user_indexes)::bigint,
                    (select coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0)
                       from pg_stat_user_tables where schemaname = 'tower_sessions')::bigint",
        )
        .fetch_one(db)
        .await
        .context("reading the table statistics")?;
        Ok(TableReads {
            rows,
            session_lookups,
        })
    }
    let started = Instant::now();
    let mut last = read(db).await?;
    let mut steady_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = read(db).await?;
        if now != last {
            last = now;
            steady_since = Instant::now();
        } else if steady_since.elapsed() >= Duration::from_millis(1500)
            || started.elapsed() >= Duration::from_secs(20)
        {
            return Ok(now);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding

/// Set-based seed, one transaction. Random choices come from `setseed`, so runs are comparable.
const SEED_STEPS: &[(&str, &str)] = &[
    (
        "word lists",
        r"
select setseed(0.4242);
create temp table w as select
    array['claims', 'benefits', 'health care', 'pharmacy', 'appointments', 'profile', 'identity',
          'payments', 'education', 'housing', 'memorials', 'notifications'] as domains,
    array['claim', 'benefit', 'health', 'pharmacy', 'appointment', 'profile', 'identity',
          'payment', 'education', 'housing', 'memorial', 'notification'] as prefixes,
    array['record', 'claim', 'evidence', 'letter', 'address', 'contact', 'enrollment', 'eligibility',
          'prescription', 'refill', 'appointment', 'referral', 'payment', 'debt', 'invoice',
          'document', 'form', 'decision', 'award', 'dependent', 'beneficiary', 'facility',
          'provider', 'consent', 'preference', 'device', 'session', 'account', 'case', 'review',
          'exam', 'lab_result', 'vaccination', 'transcript', 'certificate', 'loan', 'grant',
          'burial', 'headstone', 'message'] as nouns,
    array['created', 'updated', 'deleted', 'submitted', 'approved', 'rejected', 'cancelled',
          'completed', 'scheduled', 'shipped', 'received', 'assigned', 'reassigned', 'closed',
          'reopened', 'expired', 'renewed', 'verified', 'flagged', 'archived', 'published',
          'status_changed', 'requested', 'delivered', 'migrated'] as events,
    array[' Consumers use it to keep their own copy up to date instead of polling the source system.',
          ' The payload carries the record identifier, the new status and the time of the change.',
          ' Events are keyed by the person identifier, so all changes for one person stay in order.',
          ' Notification services turn it into emails and text messages within a few minutes.',
          ' It replaces the nightly batch file that used to be sent over SFTP to partner systems.',
          ' Late or duplicate events are possible during failover; consumers must be idempotent.',
          ' Reporting and analytics teams load it into the data warehouse every hour.',
          ' Carries references only, never document contents; fetch details from the owning API.'] as fillers,
    array['keep their case management view current', 'send reminders by email and text message',
          'reconcile payments with the finance ledger', 'feed the analytics warehouse',
          'update the mobile app without polling', 'audit changes for the privacy office'] as purposes;
",
    ),
    (
        "50 teams",
        r"
insert into team (slug, display_name, contact_email)
select p || '-' || s, initcap(p) || ' ' || initcap(s), p || '-' || s || '@example.test'
  from unnest(array['claims', 'benefits', 'health', 'pharmacy', 'appointments', 'profile',
                    'identity', 'payments', 'education', 'housing']) p,
       unnest(array['intake', 'status', 'notifications', 'records', 'analytics']) s;
create temp table t_team as select (row_number() over (order by slug) - 1)::int as idx, slug from team;
",
    ),
    (
        "app users",
        r"
insert into app_user (subject, display_name, email, groups)
select 'member-' || lpad(i::text, 4, '0'), 'Member ' || i, 'member' || i || '@example.test',
       array['team-' || a.slug, 'team-' || b.slug]
  from generate_series(1, 400) i
  join t_team a on a.idx = i % 50
  join t_team b on b.idx = (i * 7 + 3) % 50;
insert into app_user (subject, display_name, email, groups)
select 'gov-approver-' || lpad(i::text, 2, '0'), 'Governance Approver ' || lpad(i::text, 2, '0'),
       'governance' || i || '@example.test', '{governance}'
  from generate_series(1, 12) i;
insert into app_user (subject, display_name, email, groups)
select 'team-approver-' || slug, 'Approver for ' || slug, 'approver-' || slug || '@example.test',
       array['team-' || slug, 'team-approvers']
  from team;
",
    ),
    (
        "500 applications",
        r"
create temp table g_app as
select t.idx as team_idx, t.slug, s.word, s.n, random() r_fisma, random() r_ato, random() r_date,
       random() r_priv, random() r_pii, random() r_host
  from t_team t
 cross join unnest(array['Service', 'Portal', 'Worker', 'Gateway', 'Sync', 'API', 'Scheduler',
                         'Notifier', 'Tool', 'Intake']) with ordinality s(word, n);
insert into application (id, team_slug, name, system_registration_id, security_package_id, fisma_rating,
        ato_status, ato_date, privacy_assessment, contains_pii, hosting_location, technical_contact,
        product_contact, created_at)
select gen_random_uuid(), g.slug, initcap(replace(g.slug, '-', ' ')) || ' ' || g.word,
       'SR-' || (10000 + g.team_idx * 10 + g.n), 'SP-' || (2000 + g.team_idx * 10 + g.n),
       (case when g.r_fisma < 0.3 then 'low' when g.r_fisma < 0.9 then 'moderate' else 'high' end)::fisma_rating,
       (case when g.r_ato < 0.7 then 'granted' when g.r_ato < 0.85 then 'in_progress'
             when g.r_ato < 0.95 then 'not_started' else 'expired' end)::ato_status,
       case when g.r_ato < 0.7 or g.r_ato >= 0.95 then current_date - (30 + floor(g.r_date * 1000))::int end,
       (case when g.r_priv < 0.6 then 'completed' when g.r_priv < 0.75 then 'in_progress'
             when g.r_priv < 0.85 then 'not_started' else 'not_required' end)::privacy_assessment,
       g.r_pii < 0.4,
       (case when g.r_host < 0.45 then 'internal_platform' when g.r_host < 0.8 then 'cloud_account'
             when g.r_host < 0.9 then 'other_cloud' else 'on_premises' end)::hosting_location,
       g.slug || '-oncall@example.test', 'product-' || g.slug || '@example.test',
       now() - (g.r_date * 900) * interval '1 day'
  from g_app g;
create temp table t_app as
select (row_number() over (order by id) - 1)::int as idx, id, team_slug, name from application;
",
    ),
    (
        "10,000 topics",
        r"
create temp table g_topic as
-- j runs through a pseudo-random 10,000 of the 12 x 40 x 25 (domain, noun, event) combinations
-- (7919 is prime to 12000), so every word is used and every name is unique.
select i, j % 12 + 1 as di, (j / 12) % 40 + 1 as ni, j / 480 + 1 as ei,
       random() r_life, random() r_rm, random() r_class, random() r_pii, random() r_part,
       random() r_ret, random() r_clean, random() r_age, random() r_f1, random() r_f2,
       random() r_f3, random() r_team
  from generate_series(0, 9999) i, lateral (select (i * 7919) % 12000 as j) s;
insert into topic (id, name, title, description, business_domain, lifecycle, removal_date, owning_team,
        source_systems, data_classification, contains_pii, partitions, retention_ms, cleanup_policy, created_at)
select gen_random_uuid(), x.name, x.title, left(x.description, 300), x.domain, x.lifecycle::lifecycle,
       case when x.lifecycle = 'deprecated' then current_date + (30 + floor(x.r_rm * 335))::int end,
       x.team, array[initcap(x.prefix) || ' ' || (array['Service', 'Gateway', 'Platform', 'Hub'])[1 + x.i % 4]],
       (case when x.r_class < 0.4 then 'moderate' else 'low' end)::data_classification,
       x.r_pii < 0.25,
       (array[1, 3, 6, 12, 24])[1 + floor(x.r_part * 5)::int],
       (array[259200000, 604800000, 1209600000, 2592000000, 7776000000]::bigint[])[1 + floor(x.r_ret * 5)::int],
       (case when x.r_clean < 0.85 then 'delete' when x.r_clean < 0.95 then 'compact' else 'compact_delete' end)::cleanup_policy,
       now() - (x.r_age * 1100) * interval '1 day'
  from (
    select g.*, w.domains[g.di] as domain, w.prefixes[g.di] as prefix, tm.slug as team,
           w.prefixes[g.di] || '_' || w.nouns[g.ni] || '_' || w.events[g.ei] as name,
           upper(left(w.nouns[g.ni], 1)) || replace(substr(w.nouns[g.ni], 2), '_', ' ') || ' '
               || replace(w.events[g.ei], '_', ' ') || ' (' || w.domains[g.di] || ')' as title,
           'Emitted by ' || initcap(w.prefixes[g.di]) || ' systems whenever '
               || case when left(w.nouns[g.ni], 1) in ('a', 'e', 'i', 'o', 'u') then 'an ' else 'a ' end
               || replace(w.nouns[g.ni], '_', ' ') || ' is ' || replace(w.events[g.ei], '_', ' ')
               || ' in the ' || w.domains[g.di] || ' domain.'
               || case when g.r_f1 < 0.15 then ' See the schema registry for the meaning of each field.'
                       else w.fillers[1 + floor(g.r_f1 * 8)::int] end
               || case when g.r_f2 < 0.6 then w.fillers[1 + floor(g.r_f2 / 0.6 * 8)::int] else '' end
               || case when g.r_f3 < 0.3 then w.fillers[1 + floor(g.r_f3 / 0.3 * 8)::int] else '' end
               as description,
           case when g.r_life < 0.55 then 'production' when g.r_life < 0.75 then 'development'
                when g.r_life < 0.90 then 'experimental' else 'deprecated' end as lifecycle
      from g_topic g
     cross join w
      join t_team tm on tm.idx = ((g.di - 1) * 4 + floor(g.r_team * 5)::int) % 50
  ) x;
",
    ),
    (
        "topic environments",
        r"
insert into topic_environment (topic_id, environment)
select id, 'sandbox' from topic where not contains_pii;
insert into topic_environment (topic_id, environment)
select id, 'prod' from topic
 where contains_pii or lifecycle in ('production', 'deprecated') or random() < 0.3;
create temp table t_topic as
select (row_number() over (order by id) - 1)::int as idx, id, name, title, business_domain,
       owning_team, data_classification, contains_pii,
       data_classification = 'moderate' or contains_pii as sensitive
  from topic;
analyze t_team; analyze t_app; analyze t_topic;
",
    ),
    (
        "5,000 access requests",
        r"
create temp table t_req as
select i, gen_random_uuid() as id,
       case when rk < 0.60 then 'consumer_access' when rk < 0.85 then 'producer_access'
            when rk < 0.95 then 'new_topic' else 'revoke_access' end as kind,
       case when rs < 0.20 then 'submitted' when rs < 0.70 then 'approved' when rs < 0.80 then 'declined'
            when rs < 0.85 then 'changes_requested' when rs < 0.95 then 'withdrawn' else 'draft' end as state,
       'member-' || lpad((1 + floor(ru * 400))::int::text, 4, '0') as requester,
       floor(ra * 500)::int as app_idx, floor(rt * 10000)::int as topic_idx,
       -- Open requests are recent; decided ones spread over two years.
       now() - case when rs < 0.20 then rage * 45 else rage * 730 end * interval '1 day' as created_at,
       rupd, r_owner, r_gov
  from (select i, random() rk, random() rs, random() ru, random() ra, random() rt, random() rage,
               random() rupd, random() r_owner, random() r_gov
          from generate_series(1, 5000) i) g;
analyze t_req;
insert into access_request (id, kind, state, version, requester, application_id, topic_id, proposed_topic,
        environments, consumer_group, consumer_group_is_prefix, purpose, requested_expiry, decision_reason,
        created_at, updated_at)
select r.id, r.kind::request_kind, r.state::request_state,
       case r.state when 'draft' then 1 when 'submitted' then 1 + (r.r_owner < 0.4)::int + (r.r_gov < 0.25)::int
                    when 'withdrawn' then 2 else 3 end,
       r.requester, a.id,
       case when r.kind <> 'new_topic' then t.id end,
       case when r.kind = 'new_topic' then jsonb_build_object(
           'name', 'proposed_' || t.name, 'title', 'Proposed: ' || t.title,
           'business_domain', t.business_domain, 'data_classification', t.data_classification) end,
       case when r.kind = 'new_topic' then array['sandbox']
            else coalesce((select array_agg(e.environment order by e.environment)
                             from topic_environment e where e.topic_id = t.id), array['sandbox']) end,
       case when r.kind = 'consumer_access' then a.team_slug || '-' || split_part(t.name, '_', 2) || '-' || r.i end,
       r.kind = 'consumer_access' and r.i % 10 = 0,
       'Needed by ' || a.name || ' to ' || w.purposes[1 + r.i % 6] || '.',
       case when r.i % 5 = 0 then (r.created_at + interval '365 days')::date end,
       case r.state when 'declined' then 'The application does not need this data; use the summary topic instead.'
                    when 'changes_requested' then 'Please name the consumer group after the application and narrow the environments.' end,
       r.created_at,
       least(now(), r.created_at + r.rupd * interval '5 days')
  from t_req r
 cross join w
  join t_app a on a.idx = r.app_idx
  join t_topic t on t.idx = r.topic_idx;
",
    ),
    (
        "approval slots",
        r"
insert into approval_slot (request_id, slot, team_slug, reason, decided_by, decision, decision_reason, decided_at)
select x.id, x.slot::approval_slot_kind, x.team, x.reason,
       case when x.decision is not null then x.decider end,
       x.decision::approval_decision,
       case x.decision when 'declined' then 'The application does not need this data; use the summary topic instead.'
                       when 'changes_requested' then 'Please name the consumer group after the application and narrow the environments.' end,
       case when x.decision is not null then x.created_at + (x.updated_at - x.created_at) / 2 end
  from (
    select r.id, s.slot, r.created_at, least(now(), r.created_at + r.rupd * interval '5 days') as updated_at,
           case when s.slot = 'owning_team' then t.owning_team end as team,
           case s.slot
               when 'owning_team' then 'The topic is owned by team ' || t.owning_team || ', who decide who may use their events.'
               when 'governance' then case when r.kind = 'new_topic' then 'Every new topic on the bus is reviewed by governance.'
                                           else 'Governance reviews every grant of access to events.' end
               else 'The topic carries ' || case when t.data_classification = 'moderate' and t.contains_pii then 'Moderate data that includes PII'
                                                  when t.data_classification = 'moderate' then 'Moderate data'
                                                  else 'data that includes PII' end
                    || ', so a second governance approver must agree.' end as reason,
           case s.slot
               when 'owning_team' then 'team-approver-' || t.owning_team
               when 'governance' then 'gov-approver-' || lpad((1 + r.i % 12)::text, 2, '0')
               else 'gov-approver-' || lpad((1 + (r.i + 5) % 12)::text, 2, '0') end as decider,
           case
               when r.state = 'approved' then 'approved'
               when r.state = 'submitted' and s.slot = 'owning_team' and r.r_owner < 0.4 then 'approved'
               -- Governance may already have approved when a second governance slot is still open.
               when r.state = 'submitted' and s.slot = 'governance' and r.r_gov < 0.25 and t.sensitive then 'approved'
               when r.state = 'declined' and s.slot = 'governance' then 'declined'
               when r.state = 'declined' and s.slot = 'owning_team' and r.r_owner < 0.5 then 'approved'
               when r.state = 'changes_requested' and s.slot = 'governance' then 'changes_requested'
           end as decision
      from t_req r
      join t_topic t on t.idx = r.topic_idx
     cross join (values ('owning_team'), ('governance'), ('second_governance')) s(slot)
     where r.state <> 'draft'
       and (s.slot <> 'owning_team' or r.kind <> 'new_topic')
       and (s.slot <> 'second_governance' or t.sensitive)
  ) x;
",
    ),
    (
        "50,000 access grants",
        r"
create temp table t_approved as
select (row_number() over (order by id) - 1)::int as idx, id from access_request
 where state = 'approved' and kind in ('producer_access', 'consumer_access');
create temp table g_grant as
select i, floor(random() * 10000)::int as topic_idx, floor(random() * 500)::int as app_idx,
       random() r_role, random() r_env, random() r_exp, random() r_age, random() r_rev
  from generate_series(0, 49999) i;
analyze t_approved; analyze g_grant;
insert into access_grant (id, request_id, topic_id, application_id, role, environment, consumer_group,
        consumer_group_is_prefix, expires_on, created_at, revoked_at)
select gen_random_uuid(), ap.id, t.id, a.id,
       (case when g.r_role < 0.3 then 'producer' else 'consumer' end)::grant_role,
       case when g.r_env < 0.6 then 'prod' else 'sandbox' end,
       case when g.r_role >= 0.3 then a.team_slug || '-' || split_part(t.name, '_', 2) || '-' || g.i end,
       g.r_role >= 0.3 and g.i % 10 = 0,
       case when g.r_exp < 0.2 then current_date + (30 + floor(g.r_exp * 3000))::int end,
       now() - (g.r_age * 700) * interval '1 day',
       case when g.r_rev < 0.1 then now() - (g.r_rev * 300) * interval '1 day' end
  from g_grant g
  join t_topic t on t.idx = g.topic_idx
  join t_app a on a.idx = g.app_idx
  join t_approved ap on ap.idx = g.i % (select count(*) from t_approved);
",
    ),
];

async fn seed(conn: &mut PgConnection, options: &Options) -> anyhow::Result<Duration> {
    println!("== seeding {BENCH_DB}");
    let started = Instant::now();
    let mut tx = conn.begin().await?;
    let steps: Vec<(&str, &str)> = match &options.seed_sql {
        Some((path, sql)) => vec![(path.as_str(), sql.as_str())],
        None => SEED_STEPS.to_vec(),
    };
    for (label, sql) in steps {
        let step = Instant::now();
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("seeding: {label}"))?;
        println!(
            "  {label:<24} {:>7.0} ms",
            step.elapsed().as_secs_f64() * 1e3
        );
    }
    tx.commit().await?;
    if let Some((path, sql)) = &options.after_seed {
        let step = Instant::now();
        sqlx::raw_sql(sql)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("running BENCH_AFTER_SEED_SQL {path}"))?;
        println!(
            "  {:<24} {:>7.0} ms",
            "BENCH_AFTER_SEED_SQL",
            step.elapsed().as_secs_f64() * 1e3
        );
    }
    let step = Instant::now();
    // What autovacuum would have done on a long-running database: statistics and visibility map.
    sqlx::raw_sql(
        "vacuum analyze team, app_user, application, topic, topic_environment, access_request,
         approval_slot, access_grant",
    )
    .execute(&mut *conn)
    .await
    .context("vacuum analyze")?;
    println!(
        "  {:<24} {:>7.0} ms",
        "vacuum analyze",
        step.elapsed().as_secs_f64() * 1e3
    );
    Ok(started.elapsed())
}

async fn dataset_summary(conn: &mut PgConnection) -> anyhow::Result<String> {
    let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64, i32, i32) = sqlx::query_as(
        "select (select count(*) from team), (select count(*) from application),
                (select count(*) from topic), (select count(*) from topic_environment),
                (select count(*) from access_grant), (select count(*) from access_request),
                (select count(*) from access_request where state = 'submitted'),
                (select count(*) from approval_slot), (select count(*) from app_user),
                (select min(length(description)) from topic), (select max(length(description)) from topic)",
    )
    .fetch_one(conn)
    .await
    .context("counting the seeded rows")?;
    Ok(format!(
        "{} teams, {} applications, {} topics ({} topic_environment rows, descriptions {}-{} chars), \
         {} grants, {} requests ({} submitted), {} approval slots, {} users",
        row.0, row.1, row.2, row.3, row.9, row.10, row.4, row.5, row.6, row.7, row.8
    ))
}

/// A session cookie for a signed-in user, written straight into the session store (as the
/// integration tests do in `tests/api/helpers.rs`).
async fn session_cookie_for(store: &PostgresStore, user: &UserIdentity) -> anyhow::Result<String> {
    server::auth::write_signed_in_session(store, user, time::Duration::hours(2)).await
}

// ---------------------------------------------------------------------------------------------
// Workloads

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// A file of the catalog page's size from the static files: the reference.
    Static,
    CatalogList,
    DeepPage,
    Search,
    Approvals,
}

impl Group {
    /// The pages held to the targets at 200 clients (p99 and share of the static reference).
    const HELD: [(Group, &'static str); 4] = [
        (Group::CatalogList, "catalog list (GET /catalog)"),
        (Group::Search, "catalog search (GET /catalog?q=)"),
        (Group::DeepPage, "catalog deep page (GET /catalog?after=)"),
        (Group::Approvals, "approvals queue (GET /approvals)"),
    ];
}

/// The clients of the runs driven by wrk as well as by the bench's own client.
const WRK_CLIENTS: usize = 200;

/// At 200 clients, each page a person opens answers within this p99 ...
const P99_TARGET_MS: f64 = 100.0;
/// ... with at least this share of the static reference's throughput in the same phase.
const SHARE_TARGET: f64 = 0.25;

#[derive(Debug, Clone)]
enum Call {
    Get(String),
    /// A server function, called the way the browser does (URL-encoded POST).
    Post(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// An SSR page: a 2xx status is not enough, a failed resource renders `role="alert"`.
    Html,
    Json,
    /// A static file.
    File,
}

#[derive(Debug, Clone)]
struct Workload {
    name: &'static str,
    group: Group,
    body: Body,
    cookie: String,
    calls: Vec<Call>,
    metric_method: &'static str,
    metric_route: &'static str,
}

fn form_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The names pages 150 to 200 of the catalog start after (50 topics a page): deep pages.
async fn deep_cursors(db: &sqlx::PgPool) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "select name from (select name, row_number() over (order by name) as n from topic) t
          where n % 50 = 0 and n between 149 * 50 and 199 * 50 order by n",
    )
    .fetch_all(db)
    .await
    .context("reading the deep pages' first names")?;
    if names.is_empty() {
        bail!("the seed has too few topics for deep pages");
    }
    Ok(names)
}

/// Every submitted request's place in the queue, as a link writes it: more pages than a
/// sequential run asks for, so each is read (none is in the page cache yet).
async fn queue_cursors(db: &sqlx::PgPool) -> anyhow::Result<Vec<String>> {
    let keys: Vec<(chrono::DateTime<chrono::Utc>, uuid::Uuid)> = sqlx::query_as(
        "select updated_at, id from access_request where state = 'submitted'
          order by updated_at, id",
    )
    .fetch_all(db)
    .await
    .context("reading the queue's keys")?;
    Ok(keys
        .into_iter()
        .map(|(updated_at, id)| {
            app::requests::QueueKey {
                updated_at,
                id: app::domain::RequestId::from(id),
            }
            .to_string()
        })
        .collect())
}

fn workloads(
    member: &str,
    approver: &str,
    team_approver: &str,
    deep: &[String],
    queue: &[String],
) -> Vec<Workload> {
    let queue_later: Vec<Call> = queue
        .iter()
        .map(|key| Call::Get(format!("/approvals?after={}", form_value(key))))
        .collect();
    let search_pages = SEARCH_WORDS
        .iter()
        .map(|w| Call::Get(format!("/catalog?q={}", form_value(w))))
        .collect();
    let search_api = SEARCH_WORDS
        .iter()
        .map(|w| {
            Call::Post(
                "/api/catalog/topics".into(),
                format!("filter[q]={}", form_value(w)),
            )
        })
        .collect();
    // Every word from each of the deep pages' first names: more pages than a sequential run
    // asks for, so each is read (none is in the page cache yet).
    let search_later = deep
        .iter()
        .flat_map(|name| {
            SEARCH_WORDS.iter().map(move |w| {
                Call::Get(format!(
                    "/catalog?q={}&after={}",
                    form_value(w),
                    form_value(name)
                ))
            })
        })
        .collect();
    vec![
        Workload {
            name: "static reference: GET /pkg/reference.html (the catalog page's size)",
            group: Group::Static,
            body: Body::File,
            cookie: member.into(),
            calls: vec![Call::Get("/pkg/reference.html".into())],
            metric_method: "GET",
            metric_route: "static",
        },
        Workload {
            name: "catalog list: GET /catalog (SSR page 1, member)",
            group: Group::CatalogList,
            body: Body::Html,
            cookie: member.into(),
            calls: vec![Call::Get("/catalog".into())],
            metric_method: "GET",
            metric_route: "/catalog",
        },
        Workload {
            name: "catalog list: POST /api/catalog/topics (page 1, member)",
            group: Group::CatalogList,
            body: Body::Json,
            cookie: member.into(),
            calls: vec![Call::Post("/api/catalog/topics".into(), String::new())],
            metric_method: "POST",
            metric_route: "/api/catalog/topics",
        },
        Workload {
            name: "catalog deep pages: GET /catalog?after=<pages 150..200> (SSR, member)",
            group: Group::DeepPage,
            body: Body::Html,
            cookie: member.into(),
            calls: deep
                .iter()
                .map(|name| Call::Get(format!("/catalog?after={}", form_value(name))))
                .collect(),
            metric_method: "GET",
            metric_route: "/catalog",
        },
        Workload {
            name: "catalog search: GET /catalog?q=<word> (SSR, member)",
            group: Group::Search,
            body: Body::Html,
            cookie: member.into(),
            calls: search_pages,
            metric_method: "GET",
            metric_route: "/catalog",
        },
        Workload {
            name: "catalog search, later pages: GET /catalog?q=<word>&after=<name> (SSR, member)",
            group: Group::Search,
            body: Body::Html,
            cookie: member.into(),
            calls: search_later,
            metric_method: "GET",
            metric_route: "/catalog",
        },
        Workload {
            name: "catalog search: POST /api/catalog/topics filter[q]=<word> (member)",
            group: Group::Search,
            body: Body::Json,
            cookie: member.into(),
            calls: search_api,
            metric_method: "POST",
            metric_route: "/api/catalog/topics",
        },
        Workload {
            name: "approvals queue: GET /approvals (SSR, governance approver)",
            group: Group::Approvals,
            body: Body::Html,
            cookie: approver.into(),
            calls: vec![Call::Get("/approvals".into())],
            metric_method: "GET",
            metric_route: "/approvals",
        },
        Workload {
            name: "approvals queue, later pages: GET /approvals?after=<request> (SSR, governance approver)",
            group: Group::Approvals,
            body: Body::Html,
            cookie: approver.into(),
            calls: queue_later.clone(),
            metric_method: "GET",
            metric_route: "/approvals",
        },
        Workload {
            name: "approvals queue: GET /approvals (SSR, team approver of the busiest team)",
            group: Group::Approvals,
            body: Body::Html,
            cookie: team_approver.into(),
            calls: vec![Call::Get("/approvals".into())],
            metric_method: "GET",
            metric_route: "/approvals",
        },
        Workload {
            name: "approvals queue, later pages: GET /approvals?after=<request> (SSR, team approver)",
            group: Group::Approvals,
            body: Body::Html,
            cookie: team_approver.into(),
            calls: queue_later,
            metric_method: "GET",
            metric_route: "/approvals",
        },
        Workload {
            name: "approvals queue: POST /api/requests/queue (governance approver)",
            group: Group::Approvals,
            body: Body::Json,
            cookie: approver.into(),
            calls: vec![Call::Post("/api/requests/queue".into(), String::new())],
            metric_method: "POST",
            metric_route: "/api/requests/queue",
        },
    ]
}

async fn fetch(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    call: &Call,
) -> Result<(reqwest::StatusCode, Vec<u8>), String> {
    let request = match call {
        Call::Get(path) => client.get(format!("{base}{path}")),
        Call::Post(path, body) => client
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone()),
    };
    let response = request
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body: {e}"))?;
    Ok((status, body.to_vec()))
}

/// The visible text of the first `role="alert"` element, shortened.
fn alert_text(body: &[u8]) -> String {
    let html = String::from_utf8_lossy(body);
    let Some(at) = html.find("role=\"alert\"") else {
        return String::new();
    };
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[at..].chars().skip_while(|c| *c != '>').skip(1) {
        if c == '<' && text.chars().any(|c| !c.is_whitespace()) {
            break;
        }
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
        if text.len() >= 120 {
            break;
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One request, timed at the client from send to the last body byte.
async fn timed(
    client: &reqwest::Client,
    base: &str,
    workload: &Workload,
    call: &Call,
) -> Result<Duration, String> {
    let started = Instant::now();
    let (status, body) = fetch(client, base, &workload.cookie, call).await?;
    let elapsed = started.elapsed();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    if workload.body == Body::Html && contains(&body, b"role=\"alert\"") {
        return Err(format!(
            "HTTP {status} but the page rendered an error: {}",
            alert_text(&body)
        ));
    }
    Ok(elapsed)
}

/// Checks, once, that every workload answers with real data before anything is timed.
async fn validate(
    client: &reqwest::Client,
    base: &str,
    workloads: &[Workload],
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let find = |group: Group, body: Body| {
        workloads
            .iter()
            .find(|w| w.group == group && w.body == body)
            .context("workload missing")
    };
    let json = |w: &Workload, call: usize| {
        let w = w.clone();
        async move {
            let call = w.calls.get(call).context("no call")?.clone();
            let (status, body) = fetch(client, base, &w.cookie, &call)
                .await
                .map_err(anyhow::Error::msg)?;
            if !status.is_success() {
                bail!(
                    "{} answered {status}: {}",
                    w.name,
                    String::from_utf8_lossy(&body)
                );
            }
            Ok(body)
        }
    };

    let list_api = find(Group::CatalogList, Body::Json)?;
    let page: CatalogPage = serde_json::from_slice(&json(list_api, 0).await?)
        .context("the catalog server function did not return a catalog page")?;
    let first = page
        .topics
        .first()
        .context("the catalog server function returned no topics")?;
    lines.push(format!(
        "catalog: {} per page (more: {}), {} domains, {} teams; first is {}",
        page.topics.len(),
        page.next.is_some(),
        page.domains.len(),
        page.teams.len(),
        first.name
    ));
    let first_topic = first.name.clone();

    let search_api = find(Group::Search, Body::Json)?;
    let mut hits = Vec::new();
    for (i, word) in SEARCH_WORDS.iter().enumerate() {
        let page: CatalogPage = serde_json::from_slice(&json(search_api, i).await?)
            .context("the catalog search did not return a catalog page")?;
        let more = if page.next.is_some() { "+" } else { "" };
        hits.push(format!("{word:?} {}{more}", page.topics.len()));
    }
    lines.push(format!("search hits: {}", hits.join(", ")));

    let queue_api = find(Group::Approvals, Body::Json)?;
    let queue: QueuePage = serde_json::from_slice(&json(queue_api, 0).await?)
        .context("the approval queue did not return a page of requests")?;
    let first_request = queue
        .requests
        .first()
        .context("the approval queue of the governance approver is empty")?;
    let more = if queue.next.is_some() {
        ", more on the next pages"
    } else {
        ""
    };
    lines.push(format!(
        "approvals queue of {APPROVER}: {} requests on its first page{more}",
        queue.requests.len()
    ));
    let first_request_topic = first_request.topic.clone();

    let governance_queue = find(Group::Approvals, Body::Html)?.name;
    let mut sizes = Vec::new();
    for w in workloads.iter().filter(|w| w.body == Body::Html) {
        let (status, body) = fetch(client, base, &w.cookie, &w.calls[0])
            .await
            .map_err(anyhow::Error::msg)?;
        let expect = match w.group {
            Group::CatalogList => Some(first_topic.as_bytes()),
            Group::Approvals if w.name == governance_queue => Some(first_request_topic.as_bytes()),
            // Another approver's queue, or a later page: a table of requests.
            Group::Approvals => Some(b"<tbody><tr>".as_slice()),
            Group::Static | Group::DeepPage | Group::Search => None,
        };
        if !status.is_success()
            || contains(&body, b"role=\"alert\"")
            || expect.is_some_and(|e| !contains(&body, e))
        {
            bail!(
                "{} did not render its data (HTTP {status}); first 2000 bytes:\n{}",
                w.name,
                String::from_utf8_lossy(&body[..body.len().min(2000)])
            );
        }
        sizes.push(format!(
            "{} {} bytes",
            w.name.split(':').next().unwrap_or(w.name),
            body.len()
        ));
    }
    lines.push(format!(
        "SSR pages render their data (first call of each: {})",
        sizes.join(", ")
    ));
    Ok(lines)
}

// ---------------------------------------------------------------------------------------------
// Running and measuring

async fn sequential(
    client: &reqwest::Client,
    base: &str,
    workload: &Workload,
    requests: usize,
) -> Stats {
    let mut stats = Stats::default();
    let started = Instant::now();
    for i in 0..requests {
        let call = &workload.calls[i % workload.calls.len()];
        stats.record(timed(client, base, workload, call).await);
    }
    stats.elapsed = started.elapsed();
    stats
}

/// `clients` loops, each sending its next request as soon as the last one answered, until the
/// deadline. Requests in flight at the deadline finish and count.
async fn closed_loop(
    client: &reqwest::Client,
    base: &str,
    workload: &Arc<Workload>,
    clients: usize,
    duration: Duration,
) -> Stats {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let (client, base, workload, next) = (
            client.clone(),
            base.to_owned(),
            Arc::clone(workload),
            Arc::clone(&next),
        );
        tasks.spawn(async move {
            let mut stats = Stats::default();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let call = &workload.calls[i % workload.calls.len()];
                stats.record(timed(&client, &base, &workload, call).await);
            }
            stats
        });
    }
    let mut total = Stats::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(stats) => total.merge(stats),
            Err(e) => total.record(Err(format!("client task failed: {e}"))),
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// The server's own histogram of the workload's route between two scrapes of /metrics.
fn server_delta(
    before: anyhow::Result<String>,
    after: anyhow::Result<String>,
    workload: &Workload,
) -> Option<Histogram> {
    match (before, after) {
        (Ok(b), Ok(a)) => Histogram::delta(&b, &a, workload.metric_method, workload.metric_route),
        _ => None,
    }
}

/// What wrk measured in one run: its own counts and percentiles (wrk reports no single latencies).
struct WrkRun {
    requests: u64,
    elapsed: Duration,
    /// Connection, read, write and timeout errors, and answers that were not 2xx or 3xx.
    errors: u64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

/// The Lua script wrk runs: the workload's calls in turn on every connection, with its cookie,
/// and one line of figures at the end (`WRK requests duration_us errors p50 p95 p99 max`, in µs).
fn wrk_script(workload: &Workload) -> String {
    let quote = |s: &str| format!("{s:?}");
    let calls = workload
        .calls
        .iter()
        .map(|call| match call {
            Call::Get(path) => format!("{{\"GET\", {}, nil}}", quote(path)),
            Call::Post(path, body) => format!("{{\"POST\", {}, {}}}", quote(path), quote(body)),
        })
        .collect::<Vec<_>>()
        .join(",\n  ");
    format!(
        r#"local calls = {{
  {calls}
}}
local next_call = 0
request = function()
  next_call = next_call % #calls + 1
  local call = calls[next_call]
  local headers = {{["Cookie"] = {cookie}}}
  if call[3] then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  return wrk.format(call[1], call[2], headers, call[3])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"#,
        cookie = quote(&workload.cookie)
    )
}

/// `clients` connections driven by wrk (2 threads) from a process of its own, for `duration`:
/// the load an outsider puts on the portal, as the issue's figures were measured. `None` when
/// wrk is not installed (`dev/bench` installs it) or `BENCH_WRK=0`.
async fn wrk_closed_loop(
    base: &str,
    workload: &Workload,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Option<WrkRun>> {
    if std::env::var("BENCH_WRK").is_ok_and(|v| v == "0") {
        return Ok(None);
    }
    let script = std::env::temp_dir().join(format!("portal-bench-{}.lua", std::process::id()));
    std::fs::write(&script, wrk_script(workload)).context("writing the wrk script")?;
    let output = tokio::process::Command::new("wrk")
        .arg("--threads=2")
        .arg(format!("--connections={clients}"))
        .arg(format!("--duration={}s", duration.as_secs().max(1)))
        .arg("--timeout=30s")
        .arg(format!("--script={}", script.display()))
        .arg(base)
        .output()
        .await;
    let _ = std::fs::remove_file(&script);
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("running wrk"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRK "))
        .with_context(|| {
            format!(
                "wrk printed no figures: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let figures: Vec<u64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("wrk's figures: {line}"))?;
    let [requests, duration_us, errors, p50, p95, p99, max] = figures[..] else {
        bail!("wrk's figures: {line}");
    };
    let ms = |us: u64| us as f64 / 1e3;
    Ok(Some(WrkRun {
        requests,
        elapsed: Duration::from_micros(duration_us),
        errors,
        p50: ms(p50),
        p95: ms(p95),
        p99: ms(p99),
        max: ms(max),
    }))
}

// ---------------------------------------------------------------------------------------------
// The server's own view: `http_request_duration_seconds` from /metrics

// ---------------------------------------------------------------------------------------------
// Where the time goes: the same store functions the server functions call, without HTTP

/// Times the catalog and queue store functions directly on the portal's pool, sequentially:
/// the database share of each workload (queries, round trips, row decoding).
async fn breakdown(
    db: &sqlx::PgPool,
    member: &UserIdentity,
    approver: &UserIdentity,
    requests: usize,
) -> anyhow::Result<()> {
    use app::catalog::CatalogFilter;
    use app::catalog::index::TopicIndex;
    use app::catalog::store::{ParsedFilter, list};
    use app::requests::store::{queue, queue_count};
    use app::requests::{QUEUE_PAGE, QueueCursor};

    let filter = |q: Option<&str>, after: Option<&String>| {
        ParsedFilter::parse(
            CatalogFilter {
                q: q.map(str::to_owned),
                after: after.cloned(),
                ..CatalogFilter::default()
            },
            member,
        )
        .map_err(|e| anyhow::anyhow!("filter: {e}"))
    };
    let page_one = filter(None, None)?;
    let deep: Vec<ParsedFilter> = deep_cursors(db)
        .await?
        .iter()
        .map(|name| filter(None, Some(name)))
        .collect::<anyhow::Result<_>>()?;
    let searches: Vec<ParsedFilter> = SEARCH_WORDS
        .iter()
        .map(|w| filter(Some(w), None))
        .collect::<anyhow::Result<_>>()?;

    println!(
        "\nDATABASE SHARE: the store functions behind each workload, called directly on the portal's pool \
         ({requests} sequential calls each, ms)"
    );
    let report = |label: &str, mut times: Vec<Duration>| {
        times.sort_unstable();
        println!(
            "  {label:<58} p50 {:>7.2}  p95 {:>7.2}  p99 {:>7.2}",
            percentile(&times, 50.0),
            percentile(&times, 95.0),
            percentile(&times, 99.0)
        );
    };
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        list(db, &page_one).await?;
        times.push(started.elapsed());
    }
    report("catalog::store::list, page 1 (3 queries)", times);
    let mut times = Vec::with_capacity(requests);
    for i in 0..requests {
        let started = Instant::now();
        list(db, &deep[i % deep.len()]).await?;
        times.push(started.elapsed());
    }
    report("catalog::store::list, pages 150..200", times);
    let mut times = Vec::with_capacity(requests);
    for i in 0..requests {
        let started = Instant::now();
        list(db, &searches[i % searches.len()]).await?;
        times.push(started.elapsed());
    }
    report("catalog::store::list, q=<word> (search)", times);
    // What the server does instead while it hears changes: reads the topic index once per
    // change to the catalog, then answers every page from memory.
    let mut times = Vec::with_capacity(20);
    let mut index = TopicIndex::default();
    for _ in 0..20 {
        let started = Instant::now();
        index = TopicIndex::read(db).await?;
        times.push(started.elapsed());
    }
    report(
        &format!(
            "catalog::index::TopicIndex::read ({} topics, once a change)",
            index.len()
        ),
        times,
    );
    let in_memory = |label: &str, filters: &[ParsedFilter]| {
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests {
            let started = Instant::now();
            std::hint::black_box(index.page(&filters[i % filters.len()]));
            times.push(started.elapsed());
        }
        report(label, times);
    };
    in_memory(
        "catalog::index::TopicIndex::page, page 1 (memory)",
        std::slice::from_ref(&page_one),
    );
    in_memory(
        "catalog::index::TopicIndex::page, pages 150..200 (memory)",
        &deep,
    );
    in_memory(
        "catalog::index::TopicIndex::page, q=<word> (memory)",
        &searches,
    );
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        queue(db, approver, &QueueCursor::First, QUEUE_PAGE).await?;
        times.push(started.elapsed());
    }
    report("requests::store::queue (governance approver)", times);
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        queue_count(db, approver).await?;
        times.push(started.elapsed());
    }
    report(
        "requests::store::queue_count (nav badge, every approver page)",
        times,
    );
    Ok(())
}

/// Whether PostgreSQL switched the portal's prepared catalog and queue statements to generic
/// plans (after five executions it may, and a generic plan cannot use the trigram index for
/// `$1 is null or ... ilike $1`). Reads `pg_prepared_statements` on each pooled connection.
async fn plan_cache(db: &sqlx::PgPool) -> anyhow::Result<()> {
    let mut connections = Vec::new();
    for _ in 0..db.num_idle() {
        connections.push(db.acquire().await?);
    }
    let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for conn in &mut connections {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "select left(regexp_replace(statement, '\\s+', ' ', 'g'), 90), generic_plans, custom_plans
               from pg_prepared_statements
              where statement ~ '(from topic t|access_request r|business_domain from topic)'",
        )
        .fetch_all(&mut **conn)
        .await?;
        for (statement, generic, custom) in rows {
            let entry = totals.entry(statement).or_default();
            entry.0 += generic;
            entry.1 += custom;
        }
    }
    println!(
        "\nPLAN CACHE: generic vs custom plans of the portal's prepared statements, summed over {} pooled connections",
        connections.len()
    );
    for (statement, (generic, custom)) in totals {
        println!("  generic {generic:>6}  custom {custom:>6}   {statement}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reporting

struct Row {
    workload: &'static str,
    group: Group,
    body: Body,
    clients: Option<usize>,
    /// Measured by wrk from its own process rather than by the bench's client.
    by_wrk: bool,
    requests: usize,
    rps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    errors: u64,
    first_error: Option<String>,
    server: Option<Histogram>,
    /// Rows read from the portal's tables and session-table lookups, per request (sequential
    /// phase only).
    reads: Option<(f64, f64)>,
}

impl Row {
    fn new(
        workload: &Workload,
        clients: Option<usize>,
        mut stats: Stats,
        server: Option<Histogram>,
    ) -> Self {
        stats.latencies.sort_unstable();
        let requests = stats.latencies.len() + usize::try_from(stats.errors).unwrap_or(0);
        Row {
            workload: workload.name,
            group: workload.group,
            body: workload.body,
            clients,
            by_wrk: false,
            requests,
            rps: requests as f64 / stats.elapsed.as_secs_f64().max(1e-9),
            p50: percentile(&stats.latencies, 50.0),
            p95: percentile(&stats.latencies, 95.0),
            p99: percentile(&stats.latencies, 99.0),
            max: stats
                .latencies
                .last()
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
            errors: stats.errors,
            first_error: stats.first_error,
            server,
            reads: None,
        }
    }

    fn from_wrk(
        workload: &Workload,
        clients: usize,
        run: &WrkRun,
        server: Option<Histogram>,
    ) -> Self {
        let requests = usize::try_from(run.requests).unwrap_or(usize::MAX);
        Row {
            workload: workload.name,
            group: workload.group,
            body: workload.body,
            clients: Some(clients),
            by_wrk: true,
            requests,
            rps: requests as f64 / run.elapsed.as_secs_f64().max(1e-9),
            p50: run.p50,
            p95: run.p95,
            p99: run.p99,
            max: run.max,
            errors: run.errors,
            first_error: None,
            server,
            reads: None,
        }
    }

    fn phase(&self) -> String {
        match (self.clients, self.by_wrk) {
            (None, _) => "sequential".into(),
            (Some(n), false) => format!("{n} clients"),
            (Some(n), true) => format!("{n} by wrk"),
        }
    }

    fn verdict(&self) -> String {
        let errors = (self.clients == Some(200) && self.group != Group::DeepPage)
            .then(|| format!("0 err {}", if self.errors == 0 { "PASS" } else { "MISS" }));
        errors.unwrap_or_default()
    }

    fn server_view(&self) -> String {
        self.server.as_ref().map_or_else(
            || "-".into(),
            |h| {
                format!(
                    "{:.1} / {} / {}",
                    h.mean_ms(),
                    h.percentile_bound(50.0),
                    h.percentile_bound(95.0)
                )
            },
        )
    }

    fn line(&self) -> String {
        let mut s = format!(
            "  {:<11} {:>6} req {:>8.1} req/s   p50 {:>7.1}  p95 {:>7.1}  p99 {:>7.1}  max {:>7.1} ms   errors {:>4}   server mean/p50/p95 ms {}",
            self.phase(),
            self.requests,
            self.rps,
            self.p50,
            self.p95,
            self.p99,
            self.max,
            self.errors,
            self.server_view()
        );
        if let Some((rows, sessions)) = self.reads {
            let _ = write!(
                s,
                "   rows read/request {rows:.1}, session lookups/request {sessions:.2}"
            );
        }
        if let Some(e) = &self.first_error {
            let _ = write!(s, "   first error: {e}");
        }
        s
    }

    fn reads_view(&self) -> (String, String) {
        self.reads.map_or_else(
            || ("-".into(), "-".into()),
            |(rows, sessions)| (format!("{rows:.1}"), format!("{sessions:.2}")),
        )
    }
}

fn print_report(
    rows: &[Row],
    nproc: usize,
    profile: &str,
    seed_time: Duration,
    dataset: &str,
    load: &str,
) {
    let rule = "-".repeat(150);
    println!("\n{rule}");
    println!(
        "RESULTS  machine: {nproc} CPUs (nproc)  profile: {profile}  seed: {:.2} s  data: {dataset}",
        seed_time.as_secs_f64()
    );
    println!("load average (1, 5, 15 min): {load}");
    println!(
        "Latency is per request at the client over loopback, in ms (send to last body byte). \
         `server` is the portal's own http_request_duration_seconds (mean, and p50/p95 as bucket bounds)."
    );
    println!("{rule}");
    println!(
        "`vs static` is the workload's throughput as a share of the static reference's in the same phase \
         (same run, same server); `rows/req` rows read from the portal's tables per request and \
         `sess/req` session-table lookups per request, from PostgreSQL's statistics (sequential phase)."
    );
    println!(
        "{:<68} {:<11} {:>6} {:>8} {:>9} {:>7} {:>7} {:>7} {:>8} {:>6} {:>9} {:>8} {:>20}  verdict",
        "workload",
        "phase",
        "reqs",
        "req/s",
        "vs static",
        "p50",
        "p95",
        "p99",
        "max",
        "errors",
        "rows/req",
        "sess/req",
        "server mean/p50/p95"
    );
    let mut last = "";
    for r in rows {
        let name = if r.workload == last { "" } else { r.workload };
        last = r.workload;
        let share = rows
            .iter()
            .find(|s| s.group == Group::Static && s.clients == r.clients && s.by_wrk == r.by_wrk)
            .map_or_else(
                || "-".to_owned(),
                |s| format!("{:.0}%", 100.0 * r.rps / s.rps),
            );
        let (rows_read, sessions) = r.reads_view();
        println!(
            "{:<68} {:<11} {:>6} {:>8.1} {:>9} {:>7.1} {:>7.1} {:>7.1} {:>8.1} {:>6} {:>9} {:>8} {:>20}  {}",
            name,
            r.phase(),
            r.requests,
            r.rps,
            share,
            r.p50,
            r.p95,
            r.p99,
            r.max,
            r.errors,
            rows_read,
            sessions,
            r.server_view(),
            r.verdict()
        );
    }
    println!("{rule}");
    println!(
        "TARGETS (held against the SSR page a person opens; the server-function rows above are for comparison)"
    );
    let measured = |group: Group, clients: Option<usize>, by_wrk: bool| {
        rows.iter().find(|r| {
            r.group == group && r.body == Body::Html && r.clients == clients && r.by_wrk == by_wrk
        })
    };
    let page = |group: Group, clients: Option<usize>| measured(group, clients, false);
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    for (by_wrk, source) in [(false, "the bench's client"), (true, "wrk")] {
        let page = |group: Group, clients: Option<usize>| measured(group, clients, by_wrk);
        let Some(reference) = rows
            .iter()
            .find(|r| r.group == Group::Static && r.clients == Some(200) && r.by_wrk == by_wrk)
        else {
            println!(
                "  200 clients by {source} not measured (BENCH_CLIENTS has no 200, BENCH_WRK=0 or no wrk)"
            );
            continue;
        };
        println!("  200 clients by {source}:");
        {
            for (group, label) in Group::HELD {
                let Some(r) = page(group, Some(200)) else {
                    continue;
                };
                let share = r.rps / reference.rps;
                println!(
                    "    {label:<40} p99 {:>6.1} ms (<= {P99_TARGET_MS:.0}) {}   {:>5.0} req/s = {:>3.0}% of static (>= {:.0}%) {}",
                    r.p99,
                    verdict(r.p99 <= P99_TARGET_MS),
                    r.rps,
                    share * 100.0,
                    SHARE_TARGET * 100.0,
                    verdict(share >= SHARE_TARGET)
                );
            }
            if let (Some(first), Some(deep)) = (
                page(Group::CatalogList, Some(200)),
                page(Group::DeepPage, Some(200)),
            ) {
                let ratio = deep.rps / first.rps;
                println!(
                    "    deep pages as fast as the first: {:.0} / {:.0} req/s = {:.2} (>= 0.90) {}",
                    deep.rps,
                    first.rps,
                    ratio,
                    verdict(ratio >= 0.9)
                );
            }
        }
    }
    for (group, label) in Group::HELD {
        if let Some((rows_read, _)) = page(group, None).and_then(|r| r.reads) {
            println!(
                "  {label:<40} rows read per request, sequential: {rows_read:.1} (a page shows 50 rows)"
            );
        }
    }
    // The target covers the issue's pages (list, search, approvals); the deep-page workload is
    // an extra stress case, reported on its own line.
    let at_200: Vec<&Row> = rows
        .iter()
        .filter(|r| r.clients == Some(200) && r.group != Group::DeepPage)
        .collect();
    if at_200.is_empty() {
        println!("  0 errors at 200 concurrent: not measured (BENCH_CLIENTS has no 200)");
    } else {
        let errors: u64 = at_200.iter().map(|r| r.errors).sum();
        println!(
            "  0 errors at 200 concurrent ({} list/search/approvals workloads): {errors} errors  {}",
            at_200.len(),
            if errors == 0 { "PASS" } else { "MISS" }
        );
    }
    for r in rows
        .iter()
        .filter(|r| r.clients == Some(200) && r.group == Group::DeepPage)
    {
        println!(
            "  (no target) catalog deep pages at 200 concurrent: {} errors",
            r.errors
        );
    }
    println!("{rule}");
}
