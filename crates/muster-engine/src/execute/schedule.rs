//! The executor's pure half: which action may start next, and what follows when one ends. No
//! I/O and no clock: [`execute`](super::execute) asks [`Scheduler::next`] for work, sends it,
//! and reports each end with [`Scheduler::settle`]; these tests drive the same calls by hand.
//!
//! The rules, in one place:
//! - an action starts once every action it `depends_on` is done and every action it
//!   `waits_for` has ended (whatever the outcome);
//! - at most `limit × STARTED_PER_PLACE` actions are started and not yet answered: `limit` (the
//!   target's `max_concurrency`) of them hold a place and send, the others write their `sent`
//!   marker meanwhile and wait for a place (the executor's `places`), so a request goes out as
//!   soon as a place frees instead of after a commit;
//! - an action whose request was answered ([`Scheduler::answered`]) frees its start while its
//!   end is written, but no more than `limit × SETTLING_PER_PLACE` actions are between start
//!   and end at once;
//! - actions the gate blocked end at once, and release what waits for them;
//! - an action that ends other than done ends its dependents skipped, transitively;
//! - once the target is stopped, nothing more starts: what comes up ends skipped.

use muster_core::plan::{Action, ActionId};
use muster_core::report::ActionOutcome;
use std::collections::{HashMap, VecDeque};

/// How many actions may be between start and settled per place in flight: ends are written
/// in batches (a create's end is two commits: its link, then its end and audit event), so
/// several per place keep requests going out while commits wait, and a bound keeps a slow
/// store from piling up ends without limit. 4 held creates at ~2,700 per s against the
/// simulator, 8 let them reach ~3,200 (docs/BENCHMARKS.md).
const SETTLING_PER_PLACE: usize = 8;

/// How many actions may be started and not yet answered per place: one sends while the next
/// one's `sent` marker is made durable, so the commit's latency is not added to every request.
pub const STARTED_PER_PLACE: usize = 2;

/// Where one action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for dependencies.
    Waiting,
    /// In the queue to start.
    Ready,
    /// Handed out by [`Scheduler::next`] (marking, waiting for a place or sending), not yet
    /// answered.
    Running,
    /// The target answered; its end is being written (not yet settled).
    Answered,
    Ended(ActionOutcome),
}

/// What the executor does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Send action `i` (an index into the plan's actions).
    Start(usize),
    /// End action `i` skipped without sending it: the target was stopped.
    Skip(usize),
}

/// The dependency bookkeeping of one target's plan.
#[derive(Debug)]
pub struct Scheduler {
    state: Vec<State>,
    /// Per action, dependencies and waits not yet over.
    waiting_on: Vec<usize>,
    /// Per action, those that depend on it being done (`Action::depends_on`).
    dependents: Vec<Vec<usize>>,
    /// Per action, those that wait for it to end, whatever its outcome (`Action::waits_for`).
    waiters: Vec<Vec<usize>>,
    ready: VecDeque<usize>,
    running: usize,
    /// Answered, end not yet settled.
    answered: usize,
    limit: usize,
    stopped: bool,
}

impl Scheduler {
    /// A schedule for `actions`; those `blocked` says so end blocked at once (the gate
    /// already blocks everything that depends on a blocked action). `limit` is at least 1.
    pub fn new(actions: &[Action], blocked: impl Fn(&Action) -> bool, limit: usize) -> Self {
        let index: HashMap<ActionId, usize> =
            actions.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
        let mut dependents = vec![Vec::new(); actions.len()];
        let mut waiters = vec![Vec::new(); actions.len()];
        for (i, a) in actions.iter().enumerate() {
            for d in &a.depends_on {
                if let Some(&j) = index.get(d) {
                    dependents[j].push(i);
                }
            }
            for d in &a.waits_for {
                if let Some(&j) = index.get(d) {
                    waiters[j].push(i);
                }
            }
        }
        let mut s = Self {
            state: actions
                .iter()
                .map(|a| {
                    if blocked(a) {
                        State::Ended(ActionOutcome::Blocked)
                    } else {
                        State::Waiting
                    }
                })
                .collect(),
            waiting_on: actions
                .iter()
                .map(|a| a.depends_on.len() + a.waits_for.len())
                .collect(),
            dependents,
            waiters,
            ready: VecDeque::new(),
            running: 0,
            answered: 0,
            limit: limit.max(1),
            stopped: false,
        };
        for i in 0..actions.len() {
            if s.is_ended(i) {
                s.release_waiters(i);
            } else if s.waiting_on[i] == 0 && s.state[i] == State::Waiting {
                // (An action that only waits for blocked ones was made ready just above.)
                s.make_ready(i);
            }
        }
        s
    }

    /// The actions that ended blocked by the gate, in plan order.
    pub fn blocked(&self) -> Vec<usize> {
        self.indices_in(|s| s == State::Ended(ActionOutcome::Blocked))
    }

    /// The next thing to do, or `None` when nothing may start now: the limits are reached, or
    /// every ready action was handed out (then wait for one to [`settle`](Self::settle); with
    /// nothing running, the schedule is over).
    pub fn next(&mut self) -> Option<Next> {
        if self.running >= self.limit * STARTED_PER_PLACE
            || self.running + self.answered >= self.limit * SETTLING_PER_PLACE
        {
            return None;
        }
        let i = loop {
            let i = self.ready.pop_front()?;
            if self.state[i] == State::Ready {
                break i;
            }
        };
        if self.stopped {
            self.state[i] = State::Ended(ActionOutcome::Skipped);
            self.release_waiters(i);
            return Some(Next::Skip(i));
        }
        self.state[i] = State::Running;
        self.running += 1;
        Some(Next::Start(i))
    }

    /// Action `i` ended with `outcome`. Returns the actions that end skipped with it because
    /// they depend on it and it was not done (transitively, in the order they end).
    pub fn settle(&mut self, i: usize, outcome: ActionOutcome) -> Vec<usize> {
        match self.state[i] {
            State::Running => self.running -= 1,
            State::Answered => self.answered -= 1,
            _ => {}
        }
        self.state[i] = State::Ended(outcome);
        self.release_waiters(i);
        if outcome == ActionOutcome::Done {
            for j in self.dependents[i].clone() {
                self.count_down(j);
            }
            return Vec::new();
        }
        let mut skipped = Vec::new();
        let mut cascade = self.dependents[i].clone();
        while let Some(j) = cascade.pop() {
            if self.is_ended(j) {
                continue;
            }
            self.state[j] = State::Ended(ActionOutcome::Skipped);
            skipped.push(j);
            self.release_waiters(j);
            cascade.extend(self.dependents[j].iter().copied());
        }
        skipped
    }

    /// Action `i`'s request was answered: its place goes to the next action while its end is
    /// written. Its dependents still wait for [`settle`](Self::settle). Anything but a running
    /// action is left as it is.
    pub fn answered(&mut self, i: usize) {
        if self.state[i] == State::Running {
            self.state[i] = State::Answered;
            self.running -= 1;
            self.answered += 1;
        }
    }

    /// The target stops: actions running go on to their end, nothing more starts.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Actions running now.
    #[cfg(test)]
    fn running(&self) -> usize {
        self.running
    }

    pub fn is_ended(&self, i: usize) -> bool {
        matches!(self.state[i], State::Ended(_))
    }

    /// Actions that never ended (the target stopped first, or they wait for one that did),
    /// in plan order.
    pub fn unended(&self) -> Vec<usize> {
        self.indices_in(|s| !matches!(s, State::Ended(_)))
    }

    fn indices_in(&self, which: impl Fn(State) -> bool) -> Vec<usize> {
        (0..self.state.len())
            .filter(|&i| which(self.state[i]))
            .collect()
    }

    fn release_waiters(&mut self, i: usize) {
        for j in self.waiters[i].clone() {
            self.count_down(j);
        }
    }

    fn count_down(&mut self, j: usize) {
        self.waiting_on[j] = self.waiting_on[j].saturating_sub(1);
        if self.waiting_on[j] == 0 && self.state[j] == State::Waiting {
            self.make_ready(j);
        }
    }

    fn make_ready(&mut self, i: usize) {
        self.state[i] = State::Ready;
        self.ready.push_back(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_core::plan::ActionKind;
    use ActionOutcome::{Done, Failed};

    fn action(id: u32, depends_on: &[u32], waits_for: &[u32]) -> Action {
        Action {
            id: ActionId(id),
            kind: ActionKind::Update,
            person: format!("p{id}").into(),
            account: None,
            depends_on: depends_on.iter().map(|&d| ActionId(d)).collect(),
            waits_for: waits_for.iter().map(|&d| ActionId(d)).collect(),
            enabled: None,
            changes: vec![],
            permission: None,
            resend: vec![],
            reason: String::new(),
        }
    }

    /// Everything `next` hands out now, in order.
    fn drain(s: &mut Scheduler) -> Vec<Next> {
        std::iter::from_fn(|| s.next()).collect()
    }

    #[test]
    fn dependents_start_only_once_their_dependency_is_done() {
        let plan = [
            action(0, &[], &[]),
            action(1, &[0], &[]),
            action(2, &[], &[]),
        ];
        let mut s = Scheduler::new(&plan, |_| false, 10);
        assert_eq!(drain(&mut s), [Next::Start(0), Next::Start(2)]);
        assert!(s.settle(2, Done).is_empty());
        assert_eq!(s.next(), None, "1 still waits for 0");
        assert!(s.settle(0, Done).is_empty());
        assert_eq!(drain(&mut s), [Next::Start(1)]);
        s.settle(1, Done);
        assert!(s.unended().is_empty());
        assert_eq!(s.running(), 0);
    }

    #[test]
    fn a_failure_skips_its_dependents_transitively_but_releases_its_waiters() {
        // 1 depends on 0, 2 on 1; 3 waits for 0 whatever happens to it.
        let plan = [
            action(0, &[], &[]),
            action(1, &[0], &[]),
            action(2, &[1], &[]),
            action(3, &[], &[0]),
        ];
        let mut s = Scheduler::new(&plan, |_| false, 10);
        assert_eq!(drain(&mut s), [Next::Start(0)]);
        assert_eq!(s.settle(0, Failed), [1, 2]);
        assert_eq!(drain(&mut s), [Next::Start(3)]);
        s.settle(3, Done);
        assert!(s.unended().is_empty());
    }

    #[test]
    fn waiting_for_several_starts_after_the_last_one_ends() {
        let plan = [
            action(0, &[], &[]),
            action(1, &[], &[]),
            action(2, &[0], &[1]),
        ];
        let mut s = Scheduler::new(&plan, |_| false, 10);
        drain(&mut s);
        s.settle(1, Failed);
        assert_eq!(s.next(), None, "2 still depends on 0");
        s.settle(0, Done);
        assert_eq!(drain(&mut s), [Next::Start(2)]);
    }

    #[test]
    fn no_more_than_the_limit_are_started_at_once() {
        let plan: Vec<Action> = (0..10).map(|i| action(i, &[], &[])).collect();
        let mut s = Scheduler::new(&plan, |_| false, 2);
        let first: Vec<Next> = (0..2 * STARTED_PER_PLACE).map(Next::Start).collect();
        assert_eq!(
            drain(&mut s),
            first,
            "two places, each with one marking ahead"
        );
        assert_eq!(s.running(), 2 * STARTED_PER_PLACE);
        s.settle(1, Done);
        assert_eq!(drain(&mut s), [Next::Start(4)]);
        s.settle(0, Failed);
        s.settle(2, Done);
        assert_eq!(drain(&mut s), [Next::Start(5), Next::Start(6)]);
        // A limit of 0 would deadlock: it means 1.
        assert_eq!(
            drain(&mut Scheduler::new(&plan, |_| false, 0)).len(),
            STARTED_PER_PLACE
        );
    }

    #[test]
    fn blocked_actions_end_at_once_and_release_their_waiters() {
        let plan = [
            action(0, &[], &[]),
            action(1, &[0], &[]),
            action(2, &[], &[0]),
        ];
        // The gate blocks 0 and, because it depends on 0, 1.
        let mut s = Scheduler::new(&plan, |a| a.id.0 < 2, 10);
        assert_eq!(s.blocked(), [0, 1]);
        assert_eq!(drain(&mut s), [Next::Start(2)]);
        s.settle(2, Done);
        assert!(s.unended().is_empty());
    }

    #[test]
    fn a_stopped_target_starts_nothing_more_and_leaves_the_rest_unended() {
        let plan = [
            action(0, &[], &[]),
            action(1, &[], &[]),
            action(2, &[], &[]),
            action(3, &[], &[]),
            action(4, &[3], &[]),
        ];
        let mut s = Scheduler::new(&plan, |_| false, 1);
        assert_eq!(drain(&mut s), [Next::Start(0), Next::Start(1)]);
        s.stop();
        assert_eq!(s.settle(0, Failed), Vec::<usize>::new());
        assert_eq!(s.settle(1, Done), Vec::<usize>::new());
        assert_eq!(drain(&mut s), [Next::Skip(2), Next::Skip(3)]);
        // 4 depends on a skipped action: it never comes up, and is left for the executor
        // to end with the reason.
        assert_eq!(s.unended(), [4]);
        assert_eq!(s.running(), 0);
    }

    #[test]
    fn an_action_depending_on_one_outside_the_plan_never_starts() {
        let plan = [action(0, &[7], &[8])];
        let mut s = Scheduler::new(&plan, |_| false, 1);
        assert_eq!(s.next(), None, "its missing dependencies never end");
        assert_eq!(s.unended(), [0]);
    }

    #[test]
    fn an_answered_action_frees_its_start_but_its_dependents_wait_for_its_end() {
        let plan = [
            action(0, &[], &[]),
            action(1, &[0], &[]),
            action(2, &[], &[]),
            action(3, &[], &[]),
            action(4, &[], &[]),
        ];
        // One place: one action sends, one marks ahead.
        let mut s = Scheduler::new(&plan, |_| false, 1);
        assert_eq!(drain(&mut s), [Next::Start(0), Next::Start(2)]);
        s.answered(0);
        assert_eq!(s.running(), 1);
        assert_eq!(
            drain(&mut s),
            [Next::Start(3)],
            "0's start is free; 1 waits for 0's end"
        );
        s.answered(0); // again: nothing changes
        assert_eq!(s.running(), 2);
        assert!(s.settle(0, Done).is_empty());
        s.answered(0); // after its end: nothing changes
        s.settle(2, Done);
        assert_eq!(
            drain(&mut s),
            [Next::Start(4)],
            "ready first, and one start free"
        );
        s.settle(3, Done); // ended without being answered first
        assert_eq!(drain(&mut s), [Next::Start(1)]);
        s.settle(4, Done);
        s.settle(1, Done);
        assert!(s.unended().is_empty());
        assert_eq!((s.running, s.answered), (0, 0));
    }

    #[test]
    fn ends_still_being_written_are_bounded() {
        let plan: Vec<Action> = (0..20).map(|i| action(i, &[], &[])).collect();
        let mut s = Scheduler::new(&plan, |_| false, 2);
        let mut started = Vec::new();
        for _ in 0..10 {
            for n in drain(&mut s) {
                let Next::Start(i) = n else {
                    panic!("nothing is stopped")
                };
                s.answered(i);
                started.push(i);
            }
        }
        assert_eq!(started.len(), 2 * SETTLING_PER_PLACE, "none settled yet");
        s.settle(started[0], Done);
        assert_eq!(drain(&mut s).len(), 1);
    }
}
