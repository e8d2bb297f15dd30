/**
 * A failed restart is alerted once per episode, not once per attempt: an agent whose spawn keeps failing
 * (a missing binary, a broken working directory) would otherwise page the operator and mail the Mayor on
 * every retry. The episode ends when the agent is seen running again.
 */
export class FailedRestartEpisodes {
  private readonly open = new Set<string>();

  /** True for the first failure of an episode (and opens it). */
  first(identity: string): boolean {
    if (this.open.has(identity)) return false;
    this.open.add(identity);
    return true;
  }

  /** Agents seen running close their episodes. */
  running(identities: Iterable<string>): void {
    for (const identity of identities) this.open.delete(identity);
  }
}
