//! The message subset of `onnx.proto` that holds a recurrent layer (field
//! numbers of ONNX IR version 10), decoded and written by `prost`; unknown
//! fields are skipped by the decoder.

/// `ModelProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// `ir_version`.
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// `producer_name`.
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// `graph`.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// `opset_import`.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
}
/// `OperatorSetIdProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// `domain`.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// `version`.
    #[prost(int64, tag = "2")]
    pub version: i64,
}
/// `GraphProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// `node`.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// `name`.
    #[prost(string, tag = "2")]
    pub name: String,
    /// `initializer`.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// `input` (written by [`crate::formats::save`]; not needed to read).
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// `output`.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}
/// `ValueInfoProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// `name`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `type`.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}
/// `TypeProto` (its `tensor_type` member only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// `tensor_type`.
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TypeProtoTensor>,
}
/// `TypeProto.Tensor`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProtoTensor {
    /// `elem_type` (1 FLOAT).
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    /// `shape`.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}
/// `TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// `dim`.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}
/// `TensorShapeProto.Dimension`: a size or a symbolic name (the
/// `oneof` written as two optional fields, which encode the same).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dimension {
    /// `dim_value`.
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    /// `dim_param`.
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}
/// `NodeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// `input`.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// `output`.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// `name`.
    #[prost(string, tag = "3")]
    pub name: String,
    /// `op_type`.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// `attribute`.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    /// `domain`.
    #[prost(string, tag = "7")]
    pub domain: String,
}
/// `AttributeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// `name`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `f`.
    #[prost(float, tag = "2")]
    pub f: f32,
    /// `i`.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// `s`.
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    /// `floats`.
    #[prost(float, repeated, tag = "7")]
    pub floats: Vec<f32>,
    /// `ints`.
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
    /// `strings`.
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
    /// `type`.
    #[prost(int32, tag = "20")]
    pub r#type: i32,
}
/// `TensorProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// `dims`.
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// `data_type` (1 FLOAT, 11 DOUBLE).
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// `float_data`.
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// `name`.
    #[prost(string, tag = "8")]
    pub name: String,
    /// `raw_data`.
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
    /// `double_data`.
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    /// `external_data` (refused).
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    /// `data_location` (1 EXTERNAL, refused).
    #[prost(int32, tag = "14")]
    pub data_location: i32,
}
/// `StringStringEntryProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// `key`.
    #[prost(string, tag = "1")]
    pub key: String,
    /// `value`.
    #[prost(string, tag = "2")]
    pub value: String,
}
