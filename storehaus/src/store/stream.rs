//! [`RecordStream`]: records of a query delivered as they are read.

use super::Record;
use crate::error::StoreError;
use futures_core::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// How many decoded records may wait for the consumer; the reader pauses beyond that, so a slow
/// consumer holds bounded memory.
pub(crate) const STREAM_BUFFER: usize = 64;

/// A stream of records from [`GenericStore::find_stream`](crate::GenericStore::find_stream).
///
/// Rows are read by a background task on one connection while the stream is consumed; dropping
/// the stream stops the read and returns the connection.
#[derive(Debug)]
pub struct RecordStream<T> {
    receiver: mpsc::Receiver<Result<Record<T>, StoreError>>,
}

impl<T> RecordStream<T> {
    pub(crate) fn new(receiver: mpsc::Receiver<Result<Record<T>, StoreError>>) -> Self {
        RecordStream { receiver }
    }
}

impl<T> Stream for RecordStream<T> {
    type Item = Result<Record<T>, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}
