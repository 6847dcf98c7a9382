/** Bounds how many calls run at once; the rest wait their turn in order. */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, so `running` never overshoots `max`.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export const unlimited = { run: <T>(fn: () => Promise<T>): Promise<T> => fn() };
