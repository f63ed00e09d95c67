//! What several of the node's test files set up the same way.

use cairn_node::config::NodeRole;
use cairn_node::domain::people;
use cairn_node::node::Node;
use std::path::Path;

/// A new hub in `dir` with one staff member, "op", holding `roles`, signed in.
pub fn hub_with_staff(dir: &Path, roles: &[people::Role]) -> (Node, people::Actor) {
    let hub = Node::init(dir, NodeRole::Hub, "Hub", None).unwrap();
    people::add_user(&hub, &people::Actor::Operator, "op", roles, "135790").unwrap();
    let op = cairn_node::signin::staff_once(&hub, "op", "135790").unwrap();
    (hub, op)
}
