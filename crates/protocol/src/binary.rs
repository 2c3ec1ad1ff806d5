//! Binary payloads inside the JSON envelope.
//!
//! Messages are JSON, so bytes travel as a **marker object**: anywhere inside an event's
//! `data` (or an ack), the object `{"__ssbin": "<base64>"}` (exactly one key, [`MARKER`],
//! whose value is the bytes in standard base64 with padding) stands for a byte string.
//! Both clients turn such objects into bytes on arrival (`Uint8Array` in JavaScript) and
//! bytes into such objects when they send; on the server, [`Binary`] and the serde
//! functions of this module do the same for typed handlers. `docs/PROTOCOL.md` section 6
//! describes the form.
//!
//! - [`Binary`] is a byte string (a [`Bytes`]) that serializes to the marker and
//!   deserializes from it: a handler payload `file: Binary`, a field of a payload struct,
//!   or the data of an emit.
//! - `#[serde(with = "socket_serve_protocol::binary")]` (re-exported as
//!   `socket_serve::binary` and `socket_serve_client::binary`) does the same for a
//!   `Vec<u8>` or [`Bytes`] field; [`option`] for an `Option` of either.
//! - [`to_value`], [`from_value`] and [`is_marker`] work on a [`serde_json::Value`] (an
//!   `on_any` handler, `Message::data` of the Rust client).
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use serde_json::json;
//! use socket_serve_protocol::binary::{self, Binary};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Upload {
//!     name: String,
//!     #[serde(with = "binary")]
//!     bytes: Vec<u8>,
//!     thumbnails: Vec<Binary>,
//! }
//!
//! let upload = Upload {
//!     name: "a.bin".into(),
//!     bytes: vec![0, 1, 2, 255],
//!     thumbnails: vec![Binary::from_static(b"hi")],
//! };
//! let wire = serde_json::to_value(&upload).unwrap();
//! assert_eq!(
//!     wire,
//!     json!({"name": "a.bin", "bytes": {"__ssbin": "AAEC/w=="}, "thumbnails": [{"__ssbin": "aGk="}]})
//! );
//! assert_eq!(serde_json::from_value::<Upload>(wire).unwrap(), upload);
//! ```

use std::fmt;
use std::ops::Deref;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The one key of a marker object: `{"__ssbin": "<base64>"}` is binary data.
///
/// It starts with `__`, the prefix the protocol reserves for its own names (as in the
/// `__ack` and `__disconnect` events), and names the product, so ordinary app data does
/// not use it by accident. Only an object with this key *alone*, holding a string, is a
/// marker; an object that also has other keys is ordinary data.
///
/// ```
/// assert_eq!(socket_serve_protocol::binary::MARKER, "__ssbin");
/// ```
pub const MARKER: &str = "__ssbin";

/// A byte string that travels as the marker object `{"__ssbin": "<base64>"}`.
///
/// Use it as a handler's payload type (`|socket, file: Binary|`), as a field of a payload
/// struct, or as the data of an emit (`socket.emit("file", Binary::from(bytes))`). The
/// JavaScript client receives it as a `Uint8Array`, and sends a `Uint8Array`, an
/// `ArrayBuffer` or any other `ArrayBuffer` view in this form.
///
/// It derefs to `[u8]`, so `len()`, slicing and iteration work directly; it holds a
/// [`Bytes`], so clones are cheap.
///
/// ```
/// use serde_json::json;
/// use socket_serve_protocol::binary::Binary;
///
/// let file = Binary::from(vec![104, 105]);
/// assert_eq!(serde_json::to_value(&file).unwrap(), json!({"__ssbin": "aGk="}));
/// assert_eq!(&file[..], b"hi");
///
/// let back: Binary = serde_json::from_value(json!({"__ssbin": "aGk="})).unwrap();
/// assert_eq!(back, file);
/// // A bare string is not binary data: the marker is required.
/// assert!(serde_json::from_value::<Binary>(json!("aGk=")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Binary(pub Bytes);

impl Binary {
    /// Wraps anything that converts into [`Bytes`] (a `Vec<u8>`, a `String`, a
    /// `&'static [u8]`, ...).
    ///
    /// ```
    /// let b = socket_serve_protocol::binary::Binary::new(vec![1, 2, 3]);
    /// assert_eq!(b.len(), 3);
    /// ```
    pub fn new(bytes: impl Into<Bytes>) -> Binary {
        Binary(bytes.into())
    }

    /// A `Binary` of static bytes, without copying (usable in a `const`).
    ///
    /// ```
    /// use socket_serve_protocol::binary::Binary;
    /// const PING: Binary = Binary::from_static(b"\x00ping");
    /// assert_eq!(PING.len(), 5);
    /// ```
    pub const fn from_static(bytes: &'static [u8]) -> Binary {
        Binary(Bytes::from_static(bytes))
    }

    /// The bytes, as a [`Bytes`].
    ///
    /// ```
    /// let b = socket_serve_protocol::binary::Binary::from(vec![7]);
    /// assert_eq!(b.into_bytes(), bytes::Bytes::from_static(&[7]));
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The bytes, as a `Vec<u8>` (without a copy when this is the only handle to them).
    ///
    /// ```
    /// let b = socket_serve_protocol::binary::Binary::from(vec![7, 8]);
    /// assert_eq!(b.into_vec(), vec![7, 8]);
    /// ```
    pub fn into_vec(self) -> Vec<u8> {
        Vec::from(self.0)
    }

    /// The bytes in standard base64 with padding, as the marker carries them.
    ///
    /// ```
    /// let b = socket_serve_protocol::binary::Binary::from_static(b"hi");
    /// assert_eq!(b.to_base64(), "aGk=");
    /// ```
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }

    /// The marker object of these bytes (the same as [`to_value`]).
    ///
    /// ```
    /// use serde_json::json;
    /// let b = socket_serve_protocol::binary::Binary::from_static(b"hi");
    /// assert_eq!(b.to_value(), json!({"__ssbin": "aGk="}));
    /// ```
    pub fn to_value(&self) -> Value {
        to_value(&self.0)
    }
}

impl fmt::Debug for Binary {
    /// Short payloads in full (`Binary(b"hi")`), long ones by length (`Binary(<4096 bytes>)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() <= 64 {
            write!(f, "Binary({:?})", self.0)
        } else {
            write!(f, "Binary(<{} bytes>)", self.0.len())
        }
    }
}

impl Deref for Binary {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Binary {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Binary {
    fn from(bytes: Vec<u8>) -> Binary {
        Binary(Bytes::from(bytes))
    }
}

impl From<Bytes> for Binary {
    fn from(bytes: Bytes) -> Binary {
        Binary(bytes)
    }
}

impl From<&[u8]> for Binary {
    /// Copies the bytes.
    fn from(bytes: &[u8]) -> Binary {
        Binary(Bytes::copy_from_slice(bytes))
    }
}

impl<const N: usize> From<[u8; N]> for Binary {
    fn from(bytes: [u8; N]) -> Binary {
        Binary(Bytes::copy_from_slice(&bytes))
    }
}

impl From<Binary> for Bytes {
    fn from(binary: Binary) -> Bytes {
        binary.0
    }
}

impl From<Binary> for Vec<u8> {
    fn from(binary: Binary) -> Vec<u8> {
        binary.into_vec()
    }
}

impl PartialEq<[u8]> for Binary {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl PartialEq<Vec<u8>> for Binary {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.0 == other
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Binary, D::Error> {
        deserialize::<Vec<u8>, D>(deserializer).map(Binary::from)
    }
}

/// Serializes bytes as the marker object; for `#[serde(with = "...binary")]` fields.
///
/// In JSON (and every other human-readable format) the bytes become
/// `{"__ssbin": "<base64>"}`; a binary format gets them as native bytes.
///
/// ```
/// use serde::Serialize;
/// use serde_json::json;
///
/// #[derive(Serialize)]
/// struct Frame {
///     #[serde(with = "socket_serve_protocol::binary")]
///     pixels: bytes::Bytes,
/// }
///
/// let frame = Frame { pixels: bytes::Bytes::from_static(&[1, 2, 3]) };
/// assert_eq!(serde_json::to_value(&frame).unwrap(), json!({"pixels": {"__ssbin": "AQID"}}));
/// ```
pub fn serialize<T, S>(bytes: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    T: AsRef<[u8]> + ?Sized,
    S: Serializer,
{
    if serializer.is_human_readable() {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(MARKER, &STANDARD.encode(bytes.as_ref()))?;
        map.end()
    } else {
        serializer.serialize_bytes(bytes.as_ref())
    }
}

/// Deserializes bytes from the marker object; for `#[serde(with = "...binary")]` fields
/// of any type made from a `Vec<u8>` (`Vec<u8>`, [`Bytes`], [`Binary`]).
///
/// Accepts exactly `{"__ssbin": "<standard base64, padded>"}` (or native bytes in a
/// format that has them). Anything else is an error that says what was expected: a bare
/// string, an array of numbers, invalid base64, or a marker object with other keys. In a
/// handler's payload, that error is the 400 `invalid_payload` answer.
///
/// ```
/// use serde::Deserialize;
/// use serde_json::json;
///
/// #[derive(Deserialize)]
/// struct Frame {
///     #[serde(with = "socket_serve_protocol::binary")]
///     pixels: Vec<u8>,
/// }
///
/// let frame: Frame = serde_json::from_value(json!({"pixels": {"__ssbin": "AQID"}})).unwrap();
/// assert_eq!(frame.pixels, vec![1, 2, 3]);
/// let err = serde_json::from_value::<Frame>(json!({"pixels": {"__ssbin": "not base64!"}}));
/// assert!(err.is_err_and(|e| e.to_string().contains("base64")));
/// ```
pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: From<Vec<u8>>,
    D: Deserializer<'de>,
{
    let bytes = if deserializer.is_human_readable() {
        deserializer.deserialize_any(BytesVisitor)?
    } else {
        deserializer.deserialize_byte_buf(BytesVisitor)?
    };
    Ok(T::from(bytes))
}

/// `#[serde(with = "...binary::option")]` for `Option<Vec<u8>>` and `Option<Bytes>` fields:
/// `None` is `null`, `Some` is the marker object.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use serde_json::json;
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Avatar {
///     #[serde(with = "socket_serve_protocol::binary::option", default)]
///     image: Option<Vec<u8>>,
/// }
///
/// let some = Avatar { image: Some(vec![9]) };
/// assert_eq!(serde_json::to_value(&some).unwrap(), json!({"image": {"__ssbin": "CQ=="}}));
/// assert_eq!(serde_json::from_value::<Avatar>(json!({"image": null})).unwrap(), Avatar { image: None });
/// assert_eq!(serde_json::from_value::<Avatar>(json!({})).unwrap(), Avatar { image: None });
/// ```
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes `None` as `null` and `Some(bytes)` as the marker object.
    ///
    /// ```
    /// use serde_json::json;
    /// let wire = socket_serve_protocol::binary::option::serialize(
    ///     &Some(vec![1u8]),
    ///     serde_json::value::Serializer,
    /// )
    /// .unwrap();
    /// assert_eq!(wire, json!({"__ssbin": "AQ=="}));
    /// ```
    pub fn serialize<T, S>(bytes: &Option<T>, serializer: S) -> Result<S::Ok, S::Error>
    where
        T: AsRef<[u8]>,
        S: Serializer,
    {
        match bytes {
            Some(bytes) => serializer.serialize_some(&super::BytesRef(bytes.as_ref())),
            None => serializer.serialize_none(),
        }
    }

    /// Deserializes `null` as `None` and the marker object as `Some(bytes)`.
    ///
    /// ```
    /// use serde_json::json;
    /// let bytes: Option<Vec<u8>> =
    ///     socket_serve_protocol::binary::option::deserialize(json!({"__ssbin": "AQ=="})).unwrap();
    /// assert_eq!(bytes, Some(vec![1]));
    /// ```
    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        T: From<Vec<u8>>,
        D: Deserializer<'de>,
    {
        Ok(Option::<super::ByteBuf>::deserialize(deserializer)?.map(|b| T::from(b.0)))
    }
}

/// The marker object of `bytes`: `{"__ssbin": "<base64>"}`.
///
/// ```
/// use serde_json::json;
/// use socket_serve_protocol::binary;
///
/// let data = json!({"name": "a.bin", "file": binary::to_value(b"hi")});
/// assert_eq!(data, json!({"name": "a.bin", "file": {"__ssbin": "aGk="}}));
/// ```
pub fn to_value(bytes: impl AsRef<[u8]>) -> Value {
    let mut map = serde_json::Map::with_capacity(1);
    map.insert(
        MARKER.to_owned(),
        Value::String(STANDARD.encode(bytes.as_ref())),
    );
    Value::Object(map)
}

/// Is `value` a marker object (exactly one key, [`MARKER`], holding a string)? Says
/// nothing about whether the string is valid base64; [`from_value`] decodes it.
///
/// ```
/// use serde_json::json;
/// use socket_serve_protocol::binary::is_marker;
///
/// assert!(is_marker(&json!({"__ssbin": "aGk="})));
/// assert!(!is_marker(&json!({"__ssbin": "aGk=", "name": "x"})));
/// assert!(!is_marker(&json!({"__ssbin": 1})));
/// assert!(!is_marker(&json!("aGk=")));
/// ```
pub fn is_marker(value: &Value) -> bool {
    marker_text(value).is_some()
}

/// The bytes of a marker object: `Ok(None)` when `value` is not a marker object (see
/// [`is_marker`]), an error when it is one whose string is not valid base64.
///
/// For data handled as a [`serde_json::Value`] (an `on_any` handler, the Rust client's
/// `Message::data`); typed code uses [`Binary`] instead.
///
/// ```
/// use serde_json::json;
/// use socket_serve_protocol::binary::{self, Binary};
///
/// let data = json!({"file": {"__ssbin": "aGk="}, "n": 1});
/// assert_eq!(binary::from_value(&data["file"]).unwrap(), Some(Binary::from_static(b"hi")));
/// assert_eq!(binary::from_value(&data["n"]).unwrap(), None);
/// assert!(binary::from_value(&json!({"__ssbin": "%%"})).is_err());
/// ```
pub fn from_value(value: &Value) -> Result<Option<Binary>, BinaryError> {
    match marker_text(value) {
        None => Ok(None),
        Some(text) => decode_base64(text).map(|bytes| Some(Binary::from(bytes))),
    }
}

/// Why a marker object held no valid binary data.
///
/// ```
/// use serde_json::json;
/// let err = socket_serve_protocol::binary::from_value(&json!({"__ssbin": "a"})).unwrap_err();
/// assert!(err.to_string().starts_with("invalid base64"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BinaryError {
    /// The marker's string is not standard base64 with padding; the detail says where.
    #[error("invalid base64 in binary data ({MARKER}): {0}")]
    InvalidBase64(String),
}

fn marker_text(value: &Value) -> Option<&str> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.get(MARKER)?.as_str()
}

fn decode_base64(text: &str) -> Result<Vec<u8>, BinaryError> {
    STANDARD
        .decode(text)
        .map_err(|e| BinaryError::InvalidBase64(e.to_string()))
}

/// Borrowed bytes that serialize as the marker (for [`option::serialize`]).
struct BytesRef<'a>(&'a [u8]);

impl Serialize for BytesRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(self.0, serializer)
    }
}

/// Owned bytes that deserialize from the marker (for [`option::deserialize`]).
struct ByteBuf(Vec<u8>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ByteBuf, D::Error> {
        deserialize::<Vec<u8>, D>(deserializer).map(ByteBuf)
    }
}

/// The marker's value: a string, or an error that says a base64 string was expected.
struct Base64Text(String);

impl<'de> Deserialize<'de> for Base64Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Base64Text, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = Base64Text;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "the base64 string of binary data (\"{MARKER}\")")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Base64Text, E> {
                Ok(Base64Text(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Base64Text, E> {
                Ok(Base64Text(v))
            }
        }
        deserializer.deserialize_string(TextVisitor)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "binary data: an object {{\"{MARKER}\": \"<base64>\"}}")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<u8>, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        if key != MARKER {
            return Err(de::Error::custom(format_args!(
                "expected binary data, an object {{\"{MARKER}\": \"<base64>\"}}, found an object with key {key:?}"
            )));
        }
        let Base64Text(text) = map.next_value()?;
        if let Some(other) = map.next_key::<String>()? {
            return Err(de::Error::custom(format_args!(
                "expected binary data, an object with the one key \"{MARKER}\", found an object with key {other:?} too"
            )));
        }
        decode_base64(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Fields {
        #[serde(with = "super")]
        vec: Vec<u8>,
        #[serde(with = "super")]
        bytes: Bytes,
        #[serde(with = "super::option", default)]
        maybe: Option<Vec<u8>>,
        list: Vec<Binary>,
    }

    #[test]
    fn binary_round_trips_through_the_marker() {
        for bytes in [
            vec![],
            vec![0],
            vec![0, 255],
            vec![1, 2, 3],
            (0..=255).collect(),
        ] {
            let b = Binary::from(bytes.clone());
            let wire = serde_json::to_value(&b).unwrap();
            assert_eq!(wire, json!({ MARKER: STANDARD.encode(&bytes) }));
            assert!(is_marker(&wire));
            assert_eq!(serde_json::from_value::<Binary>(wire.clone()).unwrap(), b);
            assert_eq!(from_value(&wire).unwrap(), Some(b.clone()));
            // Through text too (the borrowed-string path of serde_json).
            let text = serde_json::to_string(&b).unwrap();
            assert_eq!(serde_json::from_str::<Binary>(&text).unwrap(), bytes);
        }
    }

    #[test]
    fn fields_with_the_serde_module_round_trip() {
        let f = Fields {
            vec: vec![1, 2],
            bytes: Bytes::from_static(b"xyz"),
            maybe: Some(vec![]),
            list: vec![Binary::from_static(b"a"), Binary::default()],
        };
        let wire = serde_json::to_value(&f).unwrap();
        assert_eq!(
            wire,
            json!({
                "vec": {"__ssbin": "AQI="},
                "bytes": {"__ssbin": "eHl6"},
                "maybe": {"__ssbin": ""},
                "list": [{"__ssbin": "YQ=="}, {"__ssbin": ""}],
            })
        );
        assert_eq!(serde_json::from_value::<Fields>(wire).unwrap(), f);
        let none: Fields = serde_json::from_value(json!({
            "vec": {"__ssbin": ""}, "bytes": {"__ssbin": ""}, "list": []
        }))
        .unwrap();
        assert_eq!(none.maybe, None);
    }

    #[test]
    fn nested_anywhere() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Outer {
            a: Vec<Vec<std::collections::BTreeMap<String, Binary>>>,
            b: Option<Binary>,
        }
        let data = json!({"a": [[{"x": {"__ssbin": "AAE="}}]], "b": {"__ssbin": "/w=="}});
        let o: Outer = serde_json::from_value(data.clone()).unwrap();
        assert_eq!(o.a[0][0]["x"], vec![0, 1]);
        assert_eq!(o.b, Some(Binary::from(vec![255])));
        assert_eq!(serde_json::to_value(&o).unwrap(), data);
    }

    #[test]
    fn other_shapes_are_not_binary() {
        for (value, needle) in [
            (json!("AAE="), "invalid type: string"),
            (json!([0, 1]), "invalid type: sequence"),
            (json!(null), "invalid type: null"),
            (json!({}), "invalid length 0"),
            (json!({"data": "AAE="}), "found an object with key \"data\""),
            (json!({"__ssbin": "AAE=", "name": "x"}), "\"name\""),
            (json!({"name": "x", "__ssbin": "AAE="}), "\"name\""),
            (
                json!({"__ssbin": 1}),
                "expected the base64 string of binary data",
            ),
            (json!({"__ssbin": "AAE"}), "base64"),
            (json!({"__ssbin": "A@E="}), "base64"),
            (json!({"__ssbin": "AA=="}), ""),
        ] {
            let result = serde_json::from_value::<Binary>(value.clone());
            if needle.is_empty() {
                assert_eq!(result.unwrap(), vec![0], "{value}");
                continue;
            }
            let err = result.expect_err(&value.to_string()).to_string();
            assert!(err.contains(needle), "{value}: {err}");
        }
        assert!(!is_marker(&json!({"__ssbin": "AAE=", "name": "x"})));
        assert_eq!(
            from_value(&json!({"__ssbin": "AAE=", "name": "x"})),
            Ok(None)
        );
        assert_eq!(from_value(&json!([{"__ssbin": "AAE="}])), Ok(None));
        assert!(matches!(
            from_value(&json!({"__ssbin": "AAE"})),
            Err(BinaryError::InvalidBase64(_))
        ));
    }

    #[test]
    fn native_bytes_are_accepted() {
        let d = serde::de::value::BytesDeserializer::<serde::de::value::Error>::new(b"ab");
        assert_eq!(Binary::deserialize(d).unwrap(), vec![b'a', b'b']);
    }

    #[test]
    fn conversions_and_debug() {
        let b = Binary::from([1u8, 2, 3]);
        assert_eq!(Binary::from(&[1u8, 2, 3][..]), b);
        assert_eq!(Binary::new(Bytes::from_static(&[1, 2, 3])), b);
        assert_eq!(b.as_ref(), &[1, 2, 3]);
        assert_eq!(b.iter().sum::<u8>(), 6);
        assert_eq!(Vec::<u8>::from(b.clone()), vec![1, 2, 3]);
        assert_eq!(Bytes::from(b.clone()), Bytes::from_static(&[1, 2, 3]));
        assert_eq!(format!("{b:?}"), "Binary(b\"\\x01\\x02\\x03\")");
        assert_eq!(
            format!("{:?}", Binary::from(vec![0; 65])),
            "Binary(<65 bytes>)"
        );
    }
}
