// Every command of the ikc CLI, in the order `ikc --help` lists them. main.ts
// registers these and names them when no command is given; a new command is
// its own file here and one line below.
import type { CommandModule } from 'yargs';
import { addrsCommand } from './addrs.js';
import { backendCommand } from './backend.js';
import { brokerCommand } from './broker.js';
import { commandsCommand } from './commands.js';
import { eventsCommand } from './events.js';
import { linksCommand } from './links.js';
import { psCommand } from './ps.js';
import { sandboxCommand } from './sandbox.js';
import { socketsCommand } from './sockets.js';
import { taskDiagCommand } from './task-diag.js';
import { topCommand } from './top.js';
import { watchCommand } from './watch.js';

// Each command's argument type stays in its file; as a list they are what yargs' .command() takes.
export const COMMANDS: ReadonlyArray<CommandModule<object, any>> = [
  psCommand,
  taskDiagCommand,
  commandsCommand,
  backendCommand,
  brokerCommand,
  sandboxCommand,
  socketsCommand,
  linksCommand,
  addrsCommand,
  watchCommand,
  topCommand,
  eventsCommand,
];
