//! Interleaved rounds: every peer runs once per round, and the peer that
//! starts a round rotates, so a machine that drifts (shared, throttled)
//! spreads its drift over all peers alike. Figures are the medians of each
//! peer's rounds.

use crate::echo::median;

/// Runs `run(peer, round)` for each of `peers` in each of `rounds` rounds,
/// round `r` starting at peer `r % peers.len()`. Returns each peer's
/// results, in `peers`' order; the first error ends the run.
pub fn interleave<P: Copy, R, E>(
    peers: &[P],
    rounds: usize,
    mut run: impl FnMut(P, usize) -> Result<R, E>,
) -> Result<Vec<(P, Vec<R>)>, E> {
    let mut runs: Vec<(P, Vec<R>)> = peers.iter().map(|&p| (p, Vec::new())).collect();
    for round in 0..rounds {
        for k in 0..runs.len() {
            let index = (k + round) % runs.len();
            let result = run(runs[index].0, round)?;
            runs[index].1.push(result);
        }
    }
    Ok(runs)
}

/// The median of `figure` over `peer`'s results in `runs`.
///
/// # Panics
///
/// If `peer` did not run.
pub fn median_of<P: PartialEq, R>(
    runs: &[(P, Vec<R>)],
    peer: P,
    figure: impl Fn(&R) -> f64,
) -> f64 {
    let samples = &runs
        .iter()
        .find(|(p, _)| *p == peer)
        .expect("every peer ran")
        .1;
    median(samples.iter().map(figure).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_peer_runs_once_a_round_and_the_first_rotates() {
        let mut order = Vec::new();
        let runs = interleave(&['a', 'b', 'c'], 3, |peer, round| {
            order.push(peer);
            Ok::<_, ()>(round as f64)
        })
        .unwrap();
        assert_eq!(order, ['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
        assert_eq!(runs[0], ('a', vec![0.0, 1.0, 2.0]));
        assert_eq!(median_of(&runs, 'b', |r| *r), 1.0);
        assert_eq!(
            interleave(&[1], 2, |_, _| Err::<(), _>("stop")),
            Err("stop")
        );
    }
}
