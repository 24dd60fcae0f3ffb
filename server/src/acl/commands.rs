//! The command universe ACL rules talk about: one id per command and per container
//! subcommand (`config|get`), each with its categories, so a user's permissions are a
//! bitmap over ids (as Redis's `allowed_commands`).

use std::collections::HashMap;

use super::category::{self, CategorySet};

/// One command or subcommand.
#[derive(Debug)]
pub struct CommandInfo {
    /// `get`, or `config|get` for a subcommand.
    pub fullname: String,
    pub categories: CategorySet,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
}

/// What the command table tells the ACL about one command.
pub struct CommandDecl {
    pub name: &'static str,
    pub categories: CategorySet,
}

/// Every command and subcommand, by id and by (lower-case) full name.
#[derive(Debug, Default)]
pub struct CommandIndex {
    commands: Vec<CommandInfo>,
    by_name: HashMap<String, usize>,
}

impl CommandIndex {
    /// Indexes the commands; subcommands come from the container table of [`category`].
    pub fn new(decls: impl IntoIterator<Item = CommandDecl>) -> CommandIndex {
        let mut index = CommandIndex::default();
        for decl in decls {
            let id = index.push(decl.name.to_string(), decl.categories, None);
            for sub in category::subcommands(decl.name) {
                let categories = category::of_subcommand(decl.name, sub);
                let child = index.push(format!("{}|{sub}", decl.name), categories, Some(id));
                index.commands[id].children.push(child);
            }
        }
        index
    }

    fn push(&mut self, fullname: String, categories: CategorySet, parent: Option<usize>) -> usize {
        let id = self.commands.len();
        self.by_name.insert(fullname.clone(), id);
        self.commands.push(CommandInfo {
            fullname,
            categories,
            parent,
            children: Vec::new(),
        });
        id
    }

    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    pub fn get(&self, id: usize) -> &CommandInfo {
        &self.commands[id]
    }

    /// A command (`get`) or subcommand (`config|get`) by name, any case.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }

    /// The id a call runs as: the subcommand's when `args[1]` names one, else the command's.
    pub fn resolve(&self, name: &str, args: &[bytes::Bytes]) -> Option<usize> {
        let id = self.lookup(name)?;
        let info = &self.commands[id];
        if info.children.is_empty() {
            return Some(id);
        }
        let sub = args
            .get(1)
            .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase());
        let child = sub.and_then(|sub| {
            info.children
                .iter()
                .copied()
                .find(|&c| self.commands[c].fullname[info.fullname.len() + 1..] == sub)
        });
        Some(child.unwrap_or(id))
    }

    /// All ids, in order.
    pub fn all(&self) -> impl Iterator<Item = (usize, &CommandInfo)> {
        self.commands.iter().enumerate()
    }
}
