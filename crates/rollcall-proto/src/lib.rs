//! Generated protobuf and gRPC code for Rollcall's wire contracts (`proto/`). Nothing else lives
//! here: conversions to domain types belong to each service's edge.

#![allow(clippy::all, clippy::pedantic)]

pub mod admin {
    pub mod v1 {
        tonic::include_proto!("rollcall.admin.v1");
    }
}

pub mod export {
    pub mod v1 {
        tonic::include_proto!("rollcall.export.v1");
    }
}

pub mod feed {
    pub mod v1 {
        tonic::include_proto!("rollcall.feed.v1");
    }
}

pub mod pipeline {
    pub mod v1 {
        tonic::include_proto!("rollcall.pipeline.v1");
    }
    pub mod v2 {
        tonic::include_proto!("rollcall.pipeline.v2");
    }
}

pub mod query {
    pub mod v1 {
        tonic::include_proto!("rollcall.query.v1");
    }
}

/// Encoded `FileDescriptorSet` of every Rollcall proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rollcall_descriptor.bin"));
