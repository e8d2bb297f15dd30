/**
 * "Something changed" listeners: whoever shows or counts the daemon's state (the dashboard's event stream,
 * the metrics) is told when an event was recorded or the statuses were rewritten, and reads what it needs
 * then, instead of polling. Listeners must be quick (schedule work, do not do it) and never throw into the
 * code that notifies.
 */
export class ChangeListeners {
  private readonly listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A broken listener must not break supervision.
      }
    }
  }
}
