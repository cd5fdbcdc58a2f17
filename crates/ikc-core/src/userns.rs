//! The user namespaces a judge has met, learned from the kernel through fds of
//! them: each one's parent (`NS_GET_PARENT`), owner (`NS_GET_OWNER_UID`, a kernel
//! id when read from the initial namespace) and depth. `visibility` walks this
//! tree to decide what a capability is worth over a task's namespace.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::ns;
use crate::visibility::{UserNsLookup, UserNsNode, INIT_USER_NS};

/// `NS_GET_OWNER_UID`: `_IO(NSIO, 0x4)`, writing the owner's uid through its argument.
const NS_GET_OWNER_UID: nix::libc::c_ulong = nix::request_code_none!(0xb7, 0x4) as nix::libc::c_ulong;

/// Nodes by inode; the initial namespace is always known.
#[derive(Debug, Clone)]
pub struct UserNsTree {
    nodes: HashMap<u64, UserNsNode>,
}

impl Default for UserNsTree {
    fn default() -> Self {
        UserNsTree { nodes: HashMap::from([(INIT_USER_NS, UserNsNode::INITIAL)]) }
    }
}

impl UserNsTree {
    pub fn knows(&self, ino: u64) -> bool {
        self.nodes.contains_key(&ino)
    }

    /// Learns the user namespace `fd` names and every ancestor up to one already
    /// known. A chain that ends above the reader's reach (`NS_GET_PARENT` is
    /// `EPERM` past the reader's own namespace) stays unknown: it grants nothing.
    pub fn learn(&mut self, fd: OwnedFd) -> Result<()> {
        let mut chain: Vec<(u64, u32)> = Vec::new();
        let mut current = fd;
        let top = loop {
            let ino = ns::id_of(&current)?.ino;
            if let Some(node) = self.nodes.get(&ino) {
                break Some((ino, *node));
            }
            if chain.len() > 33 {
                return Err(Error::damaged("user namespace chain deeper than the kernel allows"));
            }
            chain.push((ino, owner_uid(&current)?));
            match ns::parent(&current)? {
                Some(parent) => current = parent,
                None => break None,
            }
        };
        let Some((mut parent, parent_node)) = top else { return Ok(()) };
        for (level, (ino, owner)) in (parent_node.level + 1..).zip(chain.into_iter().rev()) {
            self.nodes.insert(ino, UserNsNode { parent, owner, level });
            parent = ino;
        }
        Ok(())
    }
}

impl UserNsLookup for UserNsTree {
    fn node(&mut self, ino: u64) -> Option<UserNsNode> {
        self.nodes.get(&ino).copied()
    }
}

/// The euid of the creator of user namespace `fd`, as the reader's namespace maps it.
fn owner_uid(fd: &OwnedFd) -> Result<u32> {
    let mut uid: nix::libc::uid_t = 0;
    // SAFETY: NS_GET_OWNER_UID writes one uid_t through the pointer we pass.
    let rc = unsafe { nix::libc::ioctl(fd.as_raw_fd(), NS_GET_OWNER_UID as _, &mut uid as *mut nix::libc::uid_t) };
    if rc < 0 {
        return Err(Error::os("NS_GET_OWNER_UID", Errno::last()));
    }
    Ok(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_namespace_is_known_and_learning_it_changes_nothing() {
        let mut tree = UserNsTree::default();
        let fd = nix::fcntl::open("/proc/self/ns/user", nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
            .expect("open own user namespace");
        let ino = ns::id_of(&fd).expect("stat").ino;
        tree.learn(fd).expect("learn");
        assert!(tree.knows(ino));
        if ino == INIT_USER_NS {
            assert_eq!(tree.node(ino), Some(UserNsNode::INITIAL));
        }
    }
}
