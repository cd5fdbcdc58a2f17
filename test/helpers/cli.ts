// Runs the ikc CLI (its reachable copy, IKC) or any program, and collects its
// exit status and output, for the CLI suites.
import { execFile } from 'node:child_process';
import { IKC } from './broker.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `cmd args`, to its end: a signal or a spawn failure reads as status 1. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** `ikc args`. */
export const ikc = (...args: string[]): Promise<Run> => run(process.execPath, [IKC, ...args]);
