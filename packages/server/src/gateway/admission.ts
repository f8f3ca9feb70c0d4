/**
 * Counts the sockets that have not logged in yet, on this node and per remote address,
 * so an upgrade over either cap is refused before it costs anything. Without it, one
 * address could open sockets until the process ran out of memory or file descriptors,
 * each costing a session and ws's buffers while never proving who it is.
 */
export class Admission {
  readonly #max: number;
  readonly #maxPerAddress: number;
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  constructor(max: number, maxPerAddress: number) {
    this.#max = max;
    this.#maxPerAddress = maxPerAddress;
  }

  /** Why a new socket from `address` would be over a cap, or undefined when it is not. */
  refusal(address: string): string | undefined {
    if (this.#total >= this.#max) return 'too many connections waiting to log in on this server';
    if ((this.#byAddress.get(address) ?? 0) >= this.#maxPerAddress) return 'too many connections waiting to log in from this address';
    return undefined;
  }

  /** Counts a new socket from `address` (checked with `refusal` during the same upgrade). */
  add(address: string): void {
    this.#byAddress.set(address, (this.#byAddress.get(address) ?? 0) + 1);
    this.#total += 1;
  }

  /** The socket logged in or closed: it no longer counts. Call once per admitted socket. */
  release(address: string): void {
    const count = this.#byAddress.get(address) ?? 0;
    if (count <= 1) this.#byAddress.delete(address);
    else this.#byAddress.set(address, count - 1);
    this.#total -= 1;
  }

  get total(): number {
    return this.#total;
  }
}
