//! Everything that turns numbers into bytes for people: SVG badges
//! (`badge`, with `width`, `color` and `logo`), the history chart, the HTML pages
//! (`page`, `template`), the shields endpoint JSON (`shields`), number formatting and escaping. Pure functions (but for
//! reading `--logo-dir` once at start);
//! every user-supplied string goes through `escape` on its way into
//! markup.

pub mod badge;
pub mod chart;
pub mod color;
pub mod escape;
pub mod logo;
pub mod number;
pub mod page;
pub mod shields;
pub mod template;
pub mod width;
