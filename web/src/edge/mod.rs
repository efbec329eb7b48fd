//! The HTTP edge's lower half, which every room may use: who sent a request
//! (`client`), the per-client limits (`throttle`), the request size and time
//! limits, the static assets. Its upper half, over every room, is `routes`:
//! the routers, reading input, the use cases' errors as answers, pages
//! rendered, security headers and the deadline.

pub(crate) mod assets;
pub mod client;
pub(crate) mod limits;
pub mod throttle;
