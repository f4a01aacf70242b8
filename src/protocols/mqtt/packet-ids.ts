/**
 * Packet ids of a session's outgoing QoS 1/2 PUBLISHes, with the core delivery each one
 * settles. Ids are handed out lowest-free-first from a free list, so they stay within the
 * window actually in flight and two dense arrays index them: no Map entry and no object
 * per delivery. An id is free again once its PUBACK / PUBCOMP has come [MQTT-2.2.1-3].
 */

/** a QoS 1 PUBLISH, or a QoS 2 PUBLISH awaiting PUBREC */
export const AWAITING_ACK = 1;
/** a QoS 2 delivery whose PUBREC came and PUBREL went: awaiting PUBCOMP */
export const RELEASED = 2;

const FREE = 0;
const MAX_ID = 65535;

export class OutboundIds {
  /** id -> the core delivery tag it settles (-1: none, e.g. a retained message) */
  private readonly tags: number[] = [0];
  private readonly states: number[] = [FREE];
  /**
   * ids given back, a stack: [0, freeTop) of `free`. Never shrunk by pop (an array shrunk
   * and grown again as a window of deliveries drains and refills reallocates each time).
   */
  private readonly free: number[] = [];
  private freeTop = 0;
  private inUse = 0;

  get size(): number {
    return this.inUse;
  }

  /** a free id for a delivery settling core tag `tag` */
  take(tag: number): number {
    let id = this.popFree();
    while (id !== undefined && this.states[id] !== FREE) id = this.popFree();
    if (id === undefined) {
      if (this.states.length <= MAX_ID) {
        id = this.states.length;
        this.tags.push(tag);
        this.states.push(AWAITING_ACK);
        this.inUse++;
        return id;
      }
      id = this.states.indexOf(FREE, 1);
      if (id < 0) throw new Error('every MQTT packet id is in use');
    }
    this.tags[id] = tag;
    this.states[id] = AWAITING_ACK;
    this.inUse++;
    return id;
  }

  /** FREE, AWAITING_ACK or RELEASED */
  state(id: number): number {
    return id < this.states.length ? this.states[id]! : FREE;
  }

  tag(id: number): number {
    return this.tags[id]!;
  }

  /** PUBREC came: the delivery is settled, the id waits for PUBCOMP */
  release(id: number): void {
    this.tags[id] = -1;
    this.states[id] = RELEASED;
  }

  /** the id is done with; usable again */
  drop(id: number): void {
    if (this.state(id) === FREE) return;
    this.states[id] = FREE;
    this.inUse--;
    this.pushFree(id);
  }

  private popFree(): number | undefined {
    return this.freeTop === 0 ? undefined : this.free[--this.freeTop];
  }

  private pushFree(id: number): void {
    if (this.freeTop < this.free.length) this.free[this.freeTop] = id;
    else this.free.push(id);
    this.freeTop++;
  }

  /** a QoS 2 exchange an earlier connection of the session left awaiting PUBCOMP */
  restoreReleased(id: number): void {
    while (this.states.length <= id) {
      this.pushFree(this.states.length);
      this.tags.push(0);
      this.states.push(FREE);
    }
    if (this.states[id] === FREE) this.inUse++;
    this.tags[id] = -1;
    this.states[id] = RELEASED;
  }

  /** ids awaiting PUBCOMP */
  releasedIds(): number[] {
    const out: number[] = [];
    for (let id = 1; id < this.states.length; id++) if (this.states[id] === RELEASED) out.push(id);
    return out;
  }
}
