//! The gRPC receiver under back-pressure: an export request takes its room in the write queue
//! before tonic decodes it.

use std::net::SocketAddr;

use bytes::{Buf, BufMut};
use glassbox_ingest::grpc::{ReserveLayer, routes};
use glassbox_ingest::rpc::{RETRY_INFO_TYPE_URL, RetryInfo, RpcStatus};
use glassbox_ingest::{Ingest, IngestOptions, WriterOptions};
use glassbox_otlp::Encoding;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

use super::{chat_fixture, gated_with, ingest_over};

const TRACE_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

async fn serve_grpc(ingest: Ingest) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tonic::transport::Server::builder()
        .layer(ReserveLayer::new(ingest.clone()))
        .add_routes(routes(ingest))
        .serve_with_incoming(incoming);
    tokio::spawn(server);
    address
}

/// Sends bytes as they are, so a test can send a message that is not valid protobuf.
struct RawCodec;

struct RawBytes;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;

    fn encoder(&mut self) -> RawBytes {
        RawBytes
    }

    fn decoder(&mut self) -> RawBytes {
        RawBytes
    }
}

impl Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

async fn export_raw(address: SocketAddr, message: Vec<u8>) -> Result<(), Status> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(TRACE_EXPORT);
    client
        .unary(tonic::Request::new(message), path, RawCodec)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn full_queue_rejects_before_decoding() {
    let (writer, gate, store, _dir) = gated_with(WriterOptions {
        queue_bytes: 64 * 1024,
        ..WriterOptions::default()
    });
    let address = serve_grpc(ingest_over(&writer, IngestOptions::default())).await;
    let occupied = writer.reserve_bytes(64 * 1024).await.unwrap();

    // Not protobuf: a full queue rejects it before tonic decodes it.
    let status = export_raw(address, vec![0xff; 16]).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("65536 bytes of requests"),
        "{status:?}"
    );
    let details = RpcStatus::decode(status.details()).unwrap();
    assert_eq!(details.code, Code::Unavailable as i32);
    assert_eq!(details.details.len(), 1);
    assert_eq!(details.details[0].type_url, RETRY_INFO_TYPE_URL);
    let retry = RetryInfo::decode(details.details[0].value.as_slice()).unwrap();
    assert_eq!(retry.retry_delay.unwrap().seconds, 1);

    // With room, the same message reaches the decoder and gives its room back.
    drop(occupied);
    let status = export_raw(address, vec![0xff; 16]).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert_eq!(writer.queued_bytes(), 0);

    // A valid gzip export is committed.
    let request =
        glassbox_otlp::decode_traces(Encoding::Json, &chat_fixture()).expect("fixture decodes");
    gate.add_permits(1);
    let mut client = TraceServiceClient::connect(format!("http://{address}"))
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    client.export(request).await.unwrap();
    let page = glassbox_store::Page {
        limit: 10,
        cursor: None,
    };
    let (traces, _) = glassbox_store::TraceStore::list_traces(
        &store,
        glassbox_store::TraceFilter::default(),
        page,
    )
    .await
    .unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(writer.queued_bytes(), 0);
}

#[tokio::test]
async fn handler_grows_the_layers_room() {
    let (writer, gate, _store, _dir) = gated_with(WriterOptions {
        queue_bytes: 64 * 1024,
        ..WriterOptions::default()
    });
    let address = serve_grpc(ingest_over(&writer, IngestOptions::default())).await;
    let request =
        glassbox_otlp::decode_traces(Encoding::Json, &chat_fixture()).expect("fixture decodes");

    // Leave exactly the decoded size free. The export fits only if the handler grows the room
    // the layer reserved for the gzip body, instead of reserving the decoded size again.
    let decoded_kib = request.encoded_len().div_ceil(1024);
    let occupied = writer
        .reserve_bytes((64 - decoded_kib) * 1024)
        .await
        .unwrap();
    gate.add_permits(1);
    let mut client = TraceServiceClient::connect(format!("http://{address}"))
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    client.export(request).await.unwrap();
    assert_eq!(writer.queued_bytes(), (64 - decoded_kib) * 1024);
    drop(occupied);
}

#[tokio::test]
async fn oversized_message_is_rejected() {
    let (writer, _gate, _store, _dir) = gated_with(WriterOptions::default());
    let options = IngestOptions {
        max_body_bytes: 1024,
    };
    let address = serve_grpc(ingest_over(&writer, options)).await;

    let status = export_raw(address, vec![0; 4096]).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(writer.queued_bytes(), 0);
}
