//! Long work started from a page (making a USB bundle) runs in the background while the page
//! shows its progress, and what it produced waits to be downloaded — by the person who started
//! it only. A file made for one download (a site's provisioning file) waits the same way.
//! Bounded: at most [`KEPT`] jobs are remembered; the oldest finished ones are forgotten first
//! (a bundle saved to the USB folder stays there: it is the person's, not the job's).

use crate::app::Progress;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Jobs remembered at once.
pub const KEPT: usize = 64;

/// Where a job stands.
#[derive(Clone, Debug)]
pub enum State {
    /// Running, this far.
    Running(Progress),
    /// Done: what it made, the name it downloads as, its size and how many entries it carries.
    Done {
        /// The output.
        output: Output,
        /// The name it downloads as.
        name: String,
        /// Its size in bytes.
        bytes: u64,
        /// Whole entries it carries, for a bundle.
        entries: Option<u64>,
    },
    /// Failed, with the message for the person.
    Failed(String),
}

/// What a job made.
#[derive(Clone, Debug)]
pub enum Output {
    /// A file saved in the USB folder.
    Saved(std::path::PathBuf),
    /// Bytes held for one download (small: a provisioning file).
    Held(Arc<Vec<u8>>),
}

/// One job.
#[derive(Debug)]
pub struct Job {
    /// Whose it is (the staff user's id).
    pub owner: String,
    /// Where it stands.
    pub state: State,
}

/// All jobs.
#[derive(Default)]
pub struct Jobs {
    next: Mutex<u64>,
    jobs: Mutex<BTreeMap<u64, Arc<Mutex<Job>>>>,
}

impl Jobs {
    /// Start remembering a job for `owner`; returns its id and handle.
    pub fn start(&self, owner: &str) -> (u64, Arc<Mutex<Job>>) {
        let id = {
            let mut n = self.next.lock().unwrap_or_else(|e| e.into_inner());
            *n += 1;
            *n
        };
        let job = Arc::new(Mutex::new(Job {
            owner: owner.to_string(),
            state: State::Running(Progress::default()),
        }));
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.insert(id, job.clone());
        while jobs.len() > KEPT {
            let oldest_done = jobs
                .iter()
                .find(|(_, j)| {
                    !matches!(
                        j.lock().unwrap_or_else(|e| e.into_inner()).state,
                        State::Running(_)
                    )
                })
                .map(|(k, _)| *k);
            match oldest_done {
                Some(k) => {
                    jobs.remove(&k);
                }
                None => break,
            }
        }
        (id, job)
    }

    /// A job of `owner`, if there is one with that id.
    pub fn get(&self, id: u64, owner: &str) -> Option<State> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let job = jobs.get(&id)?.lock().unwrap_or_else(|e| e.into_inner());
        (job.owner == owner).then(|| job.state.clone())
    }

    /// Remember something already made, for `owner` to download.
    pub fn hold(&self, owner: &str, name: String, bytes: Vec<u8>) -> u64 {
        let (id, job) = self.start(owner);
        job.lock().unwrap_or_else(|e| e.into_inner()).state = State::Done {
            bytes: bytes.len() as u64,
            output: Output::Held(Arc::new(bytes)),
            name,
            entries: None,
        };
        id
    }
}

/// Set a job's state.
pub fn set(job: &Mutex<Job>, state: State) {
    job.lock().unwrap_or_else(|e| e.into_inner()).state = state;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_only_its_owners_and_the_list_stays_bounded() {
        let jobs = Jobs::default();
        let id = jobs.hold("U-a", "p.json".into(), b"{}".to_vec());
        assert!(matches!(jobs.get(id, "U-a"), Some(State::Done { .. })));
        assert!(
            jobs.get(id, "U-b").is_none(),
            "another person's job was visible"
        );
        let (running, _) = jobs.start("U-a");
        for i in 0..(KEPT * 2) {
            jobs.hold("U-a", format!("{i}"), vec![0; 10]);
        }
        assert!(jobs.jobs.lock().unwrap().len() <= KEPT + 1);
        assert!(
            matches!(jobs.get(running, "U-a"), Some(State::Running(_))),
            "a running job was forgotten"
        );
        assert!(
            jobs.get(id, "U-a").is_none(),
            "the oldest finished job stayed"
        );
    }
}
