//! The service API: one operation, `call`, a unit of work the server does for the client.
//!
//! A call carries its cost (`work`, a multiplier of the server's `service_time`) and the budget
//! the client grants it (`budget_ns`, the client's per-attempt timeout): a server that
//! propagates deadlines drops a call whose budget ran out before it could start.

use crate::api::{Api, Draw};
use serde::Serialize;

/// One operation of the service API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum ServiceOp {
    /// Do `work` units of work within `budget_ns` of the request's arrival (0: no budget).
    Call {
        /// Cost multiplier of the server's `service_time` (the generator draws 1).
        work: u32,
        /// How long the client waits for this attempt, in nanoseconds (0: no budget).
        budget_ns: u64,
    },
}

/// What a call that completed `ok` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Served {
    /// The node that did the work.
    pub node: u32,
    /// How long the request waited in the node's queue before a worker took it, in nanoseconds.
    pub wait_ns: u64,
}

/// The service API. See the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceApi;

impl Api for ServiceApi {
    type Op = ServiceOp;
    type Res = Served;

    const OPS: &'static [(&'static str, u32)] = &[("call", 1)];

    fn name(_: &ServiceOp) -> &'static str {
        "call"
    }

    /// A call of one unit of work whose budget is the client's per-attempt timeout.
    fn generate(_weights: &[u32], d: &mut Draw<'_>) -> ServiceOp {
        ServiceOp::Call { work: 1, budget_ns: d.timeout }
    }

    fn describe(op: &ServiceOp) -> String {
        let ServiceOp::Call { work, budget_ns } = op;
        format!("call work={work} budget={}", crate::node::format_nanos(*budget_ns))
    }

    /// `work` and `budget_ns`, plus `node` and `wait_ns` for a call that was served.
    fn json(op: &ServiceOp, result: Option<&Served>) -> serde_json::Map<String, serde_json::Value> {
        let ServiceOp::Call { work, budget_ns } = op;
        let mut map = serde_json::Map::new();
        map.insert("f".into(), "call".into());
        map.insert("work".into(), (*work).into());
        map.insert("budget_ns".into(), (*budget_ns).into());
        if let Some(served) = result {
            map.insert("node".into(), served.node.into());
            map.insert("wait_ns".into(), served.wait_ns.into());
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::SimRng;

    #[test]
    fn a_drawn_call_carries_the_clients_timeout_as_its_budget() {
        let mut rng = SimRng::new(1, 2);
        let mut draw =
            Draw { rng: &mut rng, client: 3, n: 1, keys: 1, value_size: 0, timeout: 20_000_000 };
        let op = ServiceApi::generate(&[1], &mut draw);
        assert_eq!(op, ServiceOp::Call { work: 1, budget_ns: 20_000_000 });
        assert_eq!(ServiceApi::describe(&op), "call work=1 budget=20ms");
        let served = Served { node: 0, wait_ns: 5 };
        let json = serde_json::Value::Object(ServiceApi::json(&op, Some(&served)));
        assert_eq!(
            json,
            serde_json::json!({"f": "call", "work": 1, "budget_ns": 20_000_000u64,
                               "node": 0, "wait_ns": 5})
        );
        let edn = ServiceApi::edn(&op, None);
        assert_eq!(edn.f, "call");
        assert!(edn.invoke.contains(":work 1"), "{}", edn.invoke);
    }
}
