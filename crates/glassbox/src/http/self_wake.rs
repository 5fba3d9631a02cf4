//! A future wrapper that polls its future again when the future wakes itself during a poll,
//! instead of handing the wake-up to the scheduler.
//!
//! An HTTP connection wakes its own task several times per request: hyper's server hands a
//! request body to the handler through a one-chunk channel, and taking the chunk wakes the
//! sender, which is the same connection. Tokio treats a task woken during its own poll like a
//! task that yielded: it queues the task behind the others and wakes an idle worker to steal
//! it. On a small machine that costs a thread wake-up, and often a move to the other worker,
//! for every request. Polling again at once keeps the request on the worker that already has
//! its data in cache.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// Extra polls in one poll from the scheduler. Past that a wake-up goes to the scheduler as
/// usual, so a future that keeps waking itself still yields to other tasks.
const MAX_REPOLLS: u32 = 4;

/// The wrapped future is not being polled.
const IDLE: u8 = 0;
/// The wrapped future is being polled and has not been woken since the poll began.
const POLLING: u8 = 1;
/// The wrapped future was woken while being polled.
const POLLING_WOKEN: u8 = 2;

/// Wraps `future`.
pub(crate) fn repoll_on_self_wake<F: Future>(future: F) -> RepollOnSelfWake<F> {
    let shared = Arc::new(Shared {
        state: AtomicU8::new(IDLE),
        outer: Mutex::new(None),
    });
    RepollOnSelfWake {
        waker: Waker::from(Arc::clone(&shared)),
        shared,
        future: Box::pin(future),
    }
}

/// See [`repoll_on_self_wake`].
pub(crate) struct RepollOnSelfWake<F> {
    future: Pin<Box<F>>,
    shared: Arc<Shared>,
    waker: Waker,
}

/// State shared by the wrapper and the wrapped future's waker.
struct Shared {
    state: AtomicU8,
    /// The waker of the task that polled the wrapper last.
    outer: Mutex<Option<Waker>>,
}

impl<F: Future> Future for RepollOnSelfWake<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        this.shared.remember(cx.waker());

        let mut inner = Context::from_waker(&this.waker);
        for _ in 0..=MAX_REPOLLS {
            this.shared.state.store(POLLING, Ordering::SeqCst);
            if let Poll::Ready(output) = this.future.as_mut().poll(&mut inner) {
                this.shared.state.store(IDLE, Ordering::SeqCst);
                return Poll::Ready(output);
            }
            if this.shared.finish_poll() {
                return Poll::Pending;
            }
        }

        // Woken during every poll: let the scheduler run other tasks first.
        this.shared.state.store(IDLE, Ordering::SeqCst);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Shared {
    fn remember(&self, waker: &Waker) {
        let mut outer = self
            .outer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match outer.as_ref() {
            Some(known) if known.will_wake(waker) => {}
            _ => *outer = Some(waker.clone()),
        }
    }

    /// Ends a poll. False when the future was woken during it and should be polled again.
    fn finish_poll(&self) -> bool {
        let ended = self
            .state
            .compare_exchange(POLLING, IDLE, Ordering::SeqCst, Ordering::SeqCst);
        ended.is_ok()
    }

    fn wake_outer(&self) {
        let outer = self
            .outer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(waker) = outer.as_ref() {
            waker.wake_by_ref();
        }
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let noted =
            self.state
                .compare_exchange(POLLING, POLLING_WOKEN, Ordering::SeqCst, Ordering::SeqCst);
        match noted {
            Ok(_) => {}
            Err(POLLING_WOKEN) => {}
            Err(_) => self.wake_outer(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A waker that counts its wake-ups.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Wakes itself during each of its first `wakes` polls, then completes.
    struct WakesItself {
        polls: usize,
        wakes: usize,
    }

    impl Future for WakesItself {
        type Output = usize;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls += 1;
            if self.polls > self.wakes {
                return Poll::Ready(self.polls);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn poll_once<F: Future>(future: &mut RepollOnSelfWake<F>) -> (Poll<F::Output>, usize) {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        let polled = Pin::new(future).poll(&mut Context::from_waker(&waker));
        (polled, counter.0.load(Ordering::SeqCst))
    }

    #[test]
    fn self_wakes_are_polled_again_without_the_scheduler() {
        let mut future = repoll_on_self_wake(WakesItself { polls: 0, wakes: 3 });

        let (polled, outer_wakes) = poll_once(&mut future);

        assert_eq!(polled, Poll::Ready(4));
        assert_eq!(outer_wakes, 0);
    }

    #[test]
    fn endless_self_wakes_yield_to_the_scheduler() {
        let mut future = repoll_on_self_wake(WakesItself {
            polls: 0,
            wakes: usize::MAX,
        });

        let (polled, outer_wakes) = poll_once(&mut future);

        assert_eq!(polled, Poll::Pending);
        assert_eq!(outer_wakes, 1);
        assert_eq!(future.future.polls, MAX_REPOLLS as usize + 1);
    }

    #[test]
    fn wakes_between_polls_reach_the_scheduler() {
        let mut future = repoll_on_self_wake(std::future::pending::<()>());
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        let _ = Pin::new(&mut future).poll(&mut Context::from_waker(&waker));

        future.waker.wake_by_ref();

        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    }
}
