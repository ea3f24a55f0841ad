/**
 * Progress of long runs on stderr: one line rewritten in place on a terminal ("iter 40/100  score 12.3  1.2 s"),
 * nothing when stderr is piped or redirected, so that scripts and --json consumers see clean output.
 */
export class Progress {
  private readonly tty: boolean;
  private readonly start = performance.now();
  private last = 0;
  private dirty = false;

  constructor(
    private readonly label: string,
    stream: NodeJS.WriteStream = process.stderr,
    private readonly out = stream,
  ) {
    this.tty = !!stream.isTTY && !process.env.PIXELPROP_QUIET;
  }

  get elapsedMs(): number {
    return performance.now() - this.start;
  }

  /** Updates the line (at most 20 times a second). */
  update(text: string, force = false): void {
    if (!this.tty) return;
    const now = performance.now();
    if (!force && now - this.last < 50) return;
    this.last = now;
    const line = `${this.label}  ${text}  ${(this.elapsedMs / 1000).toFixed(1)} s`;
    this.out.write(`\r\x1b[2K${line.slice(0, (this.out.columns || 100) - 1)}`);
    this.dirty = true;
  }

  /** Clears the line. */
  done(): void {
    if (this.tty && this.dirty) this.out.write('\r\x1b[2K');
    this.dirty = false;
  }
}
