//! The integration tests: the real binary over real HTTP on 127.0.0.1, real
//! SQLite files and real servers (nginx, Apache, s3s-fs, PostgreSQL,
//! headless Chromium). One test binary, so the harness (`support/`) is
//! compiled once; each file below is a module testing one part, and a test's
//! name carries its module (`./test.sh nginx::` runs `nginx.rs`).

mod support;

mod admin;
mod admin_readonly;
mod backup;
mod backup_s3;
mod badge_colour;
mod badge_endpoint;
mod badge_http;
mod badge_label;
mod badge_logo;
mod badge_style;
mod badge_view;
mod browser;
mod browser_embed;
mod browser_stats;
mod camo_only;
mod cgi_apache;
mod cli;
mod cli_options;
mod client_limits;
mod connections;
mod cookies;
mod copy_password;
mod dedup;
mod dependencies;
mod disk;
mod durability;
mod fd_limit;
mod healthcheck;
mod healthz;
mod home_page;
mod hosts;
mod http_contract;
mod install;
mod install_config;
mod limits;
mod merge;
mod metrics;
mod migration;
mod nginx;
mod postgres;
mod private;
mod progress;
mod restore_untrusted;
mod sites;
mod static_binary;
mod stats_json;
mod stats_page;
mod tls;
mod top_and_per_page;
mod visitors;
