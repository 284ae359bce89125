//! A result is written only when every number in it is finite: JSON has no
//! NaN or infinity (`serde_json` would write `null`, which reads as "no
//! value"), and a run that produced one has failed. [`first_non_finite`]
//! walks a `Serialize` value and names the first such field.

use serde::ser::{self, Serialize};
use std::fmt;

/// The path of the first NaN or infinite number in `value`
/// (`history[3].test_loss`), or `None` when every number is finite.
pub fn first_non_finite<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    let mut walker = Walker { path: vec![] };
    match value.serialize(&mut walker) {
        Ok(()) => None,
        Err(Found(path)) => Some(path),
    }
}

/// The field where a non-finite number sat (also the error type).
#[derive(Debug)]
pub struct Found(String);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Found(msg.to_string())
    }
}

struct Walker {
    path: Vec<String>,
}

impl Walker {
    fn number(&self, finite: bool) -> Result<(), Found> {
        if finite {
            Ok(())
        } else {
            Err(Found(self.here()))
        }
    }
    fn here(&self) -> String {
        let mut s = String::new();
        for p in &self.path {
            if !p.starts_with('[') && !s.is_empty() {
                s.push('.');
            }
            s.push_str(p);
        }
        if s.is_empty() {
            "the result".into()
        } else {
            s
        }
    }
    fn within<T: Serialize + ?Sized>(&mut self, step: String, v: &T) -> Result<(), Found> {
        self.path.push(step);
        let r = v.serialize(&mut *self);
        self.path.pop();
        r
    }
}

/// Sequences, tuples, maps and structs: each element under its index or
/// field name.
struct Compound<'a> {
    walker: &'a mut Walker,
    index: usize,
}

macro_rules! ok {
    ($($name:ident($($t:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $t),*) -> Result<(), Found> { Ok(()) })*
    };
}

impl<'a> ser::Serializer for &'a mut Walker {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_f32(self, v: f32) -> Result<(), Found> {
        self.number(v.is_finite())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Found> {
        self.number(v.is_finite())
    }
    ok!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        self.within(variant.into(), v)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Found> {
        Ok(Compound {
            walker: self,
            index: 0,
        })
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Found> {
        Ok(Compound {
            walker: self,
            index: 0,
        })
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Found> {
        Ok(Compound {
            walker: self,
            index: 0,
        })
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Found> {
        Ok(Compound {
            walker: self,
            index: 0,
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Found> {
        Ok(Compound {
            walker: self,
            index: 0,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Found> {
        Ok(Compound {
            walker: self,
            index: 0,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Found> {
        Ok(Compound {
            walker: self,
            index: 0,
        })
    }
}

impl Compound<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        let step = format!("[{}]", self.index);
        self.index += 1;
        self.walker.within(step, v)
    }
}

macro_rules! elements {
    ($($trait:ident :: $method:ident),* $(,)?) => {
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Found;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
                self.element(v)
            }
            fn end(self) -> Result<(), Found> {
                Ok(())
            }
        })*
    };
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        self.element(v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

macro_rules! fields {
    ($($trait:ident),* $(,)?) => {
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Found;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), Found> {
                self.walker.within(key.into(), v)
            }
            fn end(self) -> Result<(), Found> {
                Ok(())
            }
        })*
    };
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Row {
        loss: f64,
        values: Vec<Option<f64>>,
    }

    #[derive(serde::Serialize)]
    struct Report {
        n: usize,
        name: &'static str,
        history: Vec<Row>,
    }

    #[test]
    fn the_first_non_finite_number_is_named_by_its_path() {
        let ok = Report {
            n: 3,
            name: "x",
            history: vec![Row {
                loss: 1.0,
                values: vec![None, Some(2.0)],
            }],
        };
        assert_eq!(first_non_finite(&ok), None);
        let bad = Report {
            history: vec![
                Row {
                    loss: 1.0,
                    values: vec![],
                },
                Row {
                    loss: 0.5,
                    values: vec![Some(1.0), Some(f64::NAN)],
                },
            ],
            ..ok
        };
        assert_eq!(
            first_non_finite(&bad).as_deref(),
            Some("history[1].values[1]")
        );
        assert_eq!(
            first_non_finite(&f64::INFINITY).as_deref(),
            Some("the result")
        );
    }
}
