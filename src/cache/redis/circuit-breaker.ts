/**
 * A circuit breaker in front of Redis, so that an outage costs requests at most one timeout per
 * probe interval instead of one per command. Failing open to the database is right, but not
 * blindly: a black-holed Redis (bytes held, no error) would otherwise make every command of every
 * request wait out the command timeout.
 *
 *   closed      commands go to Redis; the first failure opens the breaker.
 *   open        commands fail at once (callers fall back to the database). Every `probeIntervalMs`
 *               the breaker itself sends one probe (a PING); no request ever waits on it.
 *   recovering  the probe answered: before traffic returns, `recover` runs (the invalidations this
 *               instance could not deliver are applied first, so nothing it missed can be served).
 *               Only calls marked as invalidations pass meanwhile. Success closes the breaker;
 *               failure opens it again.
 */
export type BreakerState = 'closed' | 'open' | 'recovering';

export type CircuitBreakerOptions = {
  /** A cheap command that answers when Redis is back (a PING, with the client's command timeout). */
  probe(): Promise<unknown>;
  /** Runs after a successful probe and before commands flow again. Default: nothing. */
  recover?(): Promise<void>;
  /** How often an open breaker probes. Default 1,000 ms. */
  probeIntervalMs?: number;
  /** Told about every change of state (for logs and metrics). */
  onStateChange?(state: BreakerState): void;
};

/** Thrown (and counted, not logged per command) when the breaker does not let a command through. */
export class CircuitOpenError extends Error {
  override name = 'CircuitOpenError';
  constructor() {
    super('redis circuit open: answering from the database');
  }
}

export class CircuitBreaker {
  private state: BreakerState = 'closed';
  /** Bumped by every trip, so a recovery that began before a newer failure does not close the breaker. */
  private trips = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly probeIntervalMs: number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
  }

  get current(): BreakerState {
    return this.state;
  }

  /**
   * Runs a Redis call through the breaker: at once a CircuitOpenError when it is open (or
   * recovering, unless the call is an invalidation: those are what recovery is made of).
   */
  async run<T>(call: () => Promise<T>, kind: 'command' | 'invalidation' = 'command'): Promise<T> {
    if (this.state === 'open' || (this.state === 'recovering' && kind !== 'invalidation')) throw new CircuitOpenError();
    try {
      return await call();
    } catch (error) {
      this.trip();
      throw error;
    }
  }

  /**
   * Before the first command: probes and recovers at once. Closed when both succeed; otherwise open,
   * and probing. (Nothing sends commands before this resolves, so the breaker can stay closed meanwhile.)
   */
  async start(): Promise<void> {
    try {
      await this.options.probe();
      await this.options.recover?.();
    } catch {
      this.trip();
    }
  }

  /** Opens the breaker (also from outside, e.g. when an invalidation could not be delivered). */
  trip(): void {
    this.trips += 1;
    if (this.state === 'open') return;
    this.set('open');
    this.scheduleProbe();
  }

  /** Stops probing (shutdown, tests). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private set(state: BreakerState) {
    if (this.state === state) return;
    this.state = state;
    this.options.onStateChange?.(state);
  }

  private scheduleProbe() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.probe(), this.probeIntervalMs);
    this.timer.unref();
  }

  private async probe() {
    const trips = this.trips;
    try {
      await this.options.probe();
      this.set('recovering');
      await this.options.recover?.();
      if (this.trips !== trips) throw new CircuitOpenError(); // failed again meanwhile
      this.set('closed');
    } catch {
      this.set('open');
      this.scheduleProbe();
    }
  }
}
