//! The read ops' commands, generated from their rows in the op table
//! (`protocol/op.rs`): for each read op, a struct of the same name with the
//! fields its row declares, its parse step (the fields in row order, each
//! by its kind in `field_kind.rs`) and its semantic checks (by the kinds,
//! in [`CHECK_ORDER`]); and [`ReadCommand`], one variant per read op, which
//! `engine/route.rs` matches to the handler the row names.

use super::error::CommandError;
use super::field_kind::*;
use super::fields::FieldResult;
use super::json::Value;
use super::op::for_each_op;
use std::marker::PhantomData;

macro_rules! read_commands {
    (
        all [$($all:tt)*]
        reads [$( $op:ident { $($field:ident: $kind:ty),* } => $handler:path; )*]
        admins [$($admin:tt)*]
        logged [$($logged:tt)*]
    ) => {
        $(
            #[doc = concat!("The fields of `", stringify!($op), "`, run by `", stringify!($handler), "`.")]
            #[derive(Debug, Clone, PartialEq)]
            pub struct $op<'a> {
                $(pub $field: <$kind as FieldKind<'a>>::Parsed,)*
                /// Ties the struct to the request line when no field borrows from it.
                line: PhantomData<&'a str>,
            }

            impl<'a> $op<'a> {
                /// The parse step: each field in row order.
                #[allow(unused_variables)]
                pub fn parse(obj: &Value<'a>) -> FieldResult<$op<'a>> {
                    Ok($op { $($field: <$kind as FieldKind<'a>>::parse(obj, stringify!($field))?,)* line: PhantomData })
                }

                /// The semantic checks, after authentication.
                #[allow(unused_variables)]
                fn validate(&self) -> Result<(), CommandError> {
                    for check in CHECK_ORDER {
                        $(
                            if <$kind as FieldKind<'a>>::CHECK == check {
                                <$kind as FieldKind<'a>>::check(&self.$field)?;
                            }
                        )*
                    }
                    Ok(())
                }

                /// The series the command reads, if it names one.
                fn series_name(&self) -> Option<&str> {
                    None $(.or(<$kind as FieldKind<'a>>::series(&self.$field)))*
                }
            }
        )*

        /// A parsed read op: its fields, ready for its handler.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ReadCommand<'a> {
            $($op($op<'a>),)*
        }

        impl ReadCommand<'_> {
            /// The stateless semantic checks of this command.
            pub fn validate(&self) -> Result<(), CommandError> {
                match self {
                    $(ReadCommand::$op(args) => args.validate(),)*
                }
            }

            /// The one series the command reads, if it names one.
            pub fn series_name(&self) -> Option<&str> {
                match self {
                    $(ReadCommand::$op(args) => args.series_name(),)*
                }
            }
        }
    };
}

for_each_op!(read_commands);
