import { Ops } from './locks';

/** What a command gets: the backend's clients, the output, and who runs it. */
export interface CommandContext {
  readonly ops: Ops;
  readonly json: boolean;
  /** Writes to stdout. */
  readonly out: (text: string) => void;
  /** Writes a warning to stderr. */
  readonly warn: (text: string) => void;
  /** Writes a note to stderr (`tfstate-ops: text`), apart from the output, which --json keeps one document. */
  readonly note: (text: string) => void;
  /** Rewrites a progress line on stderr; present only when stderr is a terminal. */
  readonly progress?: (text: string) => void;
  /** `user@host`, as Terraform's LockInfo.Who. */
  readonly who: string;
  /** This tool's version. */
  readonly toolVersion: string;
  /** A command line to suggest: this tool, the arguments, and this run's backend options. */
  readonly suggest: (args: readonly string[]) => string;
}
