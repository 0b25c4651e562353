/**
 * The presence stream's messages, and what one of them changes in the map
 * of people (a pure function, so the model only emits).
 */
import { IPerson } from './api';
import { IActivityEvent } from './execution/types';

export type StreamMessage =
  | { type: 'snapshot'; people: IPerson[] }
  | { type: 'join'; person: IPerson }
  | { type: 'update'; person: IPerson }
  | { type: 'leave'; username: string }
  | { type: 'access' }
  | { type: 'recovered'; path: string; copy: string }
  | { type: 'activity'; event: IActivityEvent };

export interface IStreamEffect {
  people: Map<string, IPerson>;
  joined: IPerson[];
  left: IPerson[];
  /** `people` changed. */
  changed: boolean;
  /** The owner's guest or invite lists may have changed. */
  access: boolean;
}

/**
 * Apply `message` to `people` (not modified). `reportSnapshot`: a snapshot
 * after a reconnect reports its differences as joins and leaves.
 */
export function applyMessage(
  people: ReadonlyMap<string, IPerson>,
  message: StreamMessage,
  reportSnapshot: boolean
): IStreamEffect {
  const next = new Map(people);
  const effect: IStreamEffect = {
    people: next,
    joined: [],
    left: [],
    changed: false,
    access: false
  };
  switch (message.type) {
    case 'snapshot': {
      effect.people = new Map(message.people.map(p => [p.username, p]));
      if (reportSnapshot) {
        effect.joined = message.people.filter(p => !people.has(p.username));
        effect.left = Array.from(people.values()).filter(
          p => !effect.people.has(p.username)
        );
      }
      effect.changed = effect.access = true;
      break;
    }
    case 'join':
    case 'update': {
      const known = people.has(message.person.username);
      next.set(message.person.username, message.person);
      effect.changed = true;
      effect.joined = known ? [] : [message.person];
      effect.access = message.type === 'join' || !known;
      break;
    }
    case 'leave': {
      const person = people.get(message.username);
      next.delete(message.username);
      effect.changed = effect.access = true;
      effect.left = person ? [person] : [];
      break;
    }
    case 'access':
      effect.access = true;
      break;
    default:
      break;
  }
  return effect;
}
