//! A task's pid, process group and session in each pid namespace it is seen
//! from, procfs's first (`NSpid`, `NSpgid`, `NSsid`).

use smallvec::SmallVec;

/// The deepest nesting the kernel allows (`MAX_PID_NS_LEVEL`) plus the root.
pub const MAX_LEVELS: usize = 33;

/// A task's pid, pgid and sid at one pid-namespace level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LevelIds {
    pub pid: u32,
    pub pgid: u32,
    pub sid: u32,
}

/// A task's ids at each pid-namespace level, from procfs's down (`NSpid`,
/// `NSpgid`, `NSsid`). Nearly every task is one or two levels deep: those stay
/// inline, since a dump holds one of these per task; deeper ones go to the heap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsLevels(SmallVec<[LevelIds; 2]>);

impl NsLevels {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids at level `g` (0: procfs's namespace).
    pub fn at(&self, g: usize) -> Option<LevelIds> {
        self.0.get(g).copied()
    }

    /// The entry for level `g`, adding levels up to it; `None` past `MAX_LEVELS`.
    pub fn level_mut(&mut self, g: usize) -> Option<&mut LevelIds> {
        if g >= MAX_LEVELS {
            return None;
        }
        if g >= self.0.len() {
            self.0.resize(g + 1, LevelIds::default());
        }
        self.0.get_mut(g)
    }
}

impl FromIterator<LevelIds> for NsLevels {
    fn from_iter<I: IntoIterator<Item = LevelIds>>(iter: I) -> Self {
        NsLevels(iter.into_iter().collect())
    }
}
