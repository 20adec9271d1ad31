import type { RejectReason } from './projector.js';

// What a user can do about a change the projection refused (a named purchase or stock change).

export function refusalSuggestion(reason: RejectReason): string {
  switch (reason) {
    case 'insufficient_stock':
      return 'Receive goods first (`shopctl stock receive`), or check `shopctl list stock`.';
    case 'unknown_reference':
    case 'id_conflict':
      return 'List what exists with `shopctl list customers` and `shopctl list products`.';
    default: {
      const unreachable: never = reason;
      return unreachable;
    }
  }
}
