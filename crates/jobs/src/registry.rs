//! The macro behind the list in `lib.rs`: from `file::Job` lines it declares
//! each job's module and makes [`crate::JobKind`], an enum with one variant
//! per job, whose methods name, explain, check and run each kind by calling
//! its [`crate::Job`] implementation. Hand-written, the enum and its four
//! `match`es would have to be edited for every new job; generated, a new job
//! is its file and one line.

/// Registers the jobs listed: `register! { succeed::Succeed, fail::Fail }`.
macro_rules! register {
    ($($file:ident :: $job:ident),+ $(,)?) => {
        $(
            mod $file;
            pub use $file::$job;
        )+

        /// Which job runs for one message, and so how it behaves: one
        /// variant per registered [`Job`], named after it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum JobKind {
            $(
                #[doc = concat!("Runs [`", stringify!($job), "`].")]
                $job,
            )+
        }

        impl JobKind {
            /// Every kind, in the order they are registered.
            pub const ALL: &'static [JobKind] = &[$(JobKind::$job),+];

            /// The name used in JSON, forms and the stores.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(JobKind::$job => <$job as Job>::NAME,)+
                }
            }

            /// One line for a person choosing it.
            pub fn explanation(self) -> &'static str {
                match self {
                    $(JobKind::$job => <$job as Job>::EXPLANATION,)+
                }
            }

            /// Whether `body` is what this kind of job takes, with a
            /// sentence that says what to fix when it is not.
            pub fn check(self, body: &str) -> Result<(), BadInput> {
                match self {
                    $(JobKind::$job => $crate::input::parse::<$job>(body).map(drop),)+
                }
            }

            /// The body of the `n`th message of a burst of `body`, as this
            /// kind's input numbers it ([`crate::Input::numbered`]).
            pub fn numbered(self, body: &str, n: u32) -> String {
                match self {
                    $(JobKind::$job => <<$job as Job>::Input as $crate::Input>::numbered(body, n),)+
                }
            }

            /// Runs this kind of job on `body`, the stored message's. A body
            /// the job cannot take fails for good: no retry makes it parse.
            pub async fn run(self, body: &str, context: &Context<'_>) -> Result<(), JobError> {
                match self {
                    $(JobKind::$job => {
                        let input = $crate::input::parse::<$job>(body)
                            .map_err(|bad| JobError::Permanent(bad.to_string()))?;
                        <$job as Job>::run(input, context).await
                    })+
                }
            }
        }
    };
}

pub(crate) use register;
