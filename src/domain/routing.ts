import { stockKey, type ShopEvent } from './events.js';
import { assertNever } from './projector.js';

// Which stream an event belongs to and the key that orders it. Everything that changes one
// stock level (purchases, goods received, sales, counts) shares the key store:sku,
// so it lands on one partition and is applied by one writer, in order.
// A store's reservations share the key of the store: one writer per store handles them in order,
// and never contends with another store's. A heartbeat goes the way of the store's stock changes
// (the inventory stream), keyed by the store.
export type Stream = 'customers' | 'catalog' | 'inventory' | 'reservations';

export interface Route {
  stream: Stream;
  key: string;
}

export function routeOf(event: ShopEvent): Route {
  switch (event.type) {
    case 'shop.customer.registered.v1':
      return { stream: 'customers', key: event.data.customerId };
    case 'shop.product.added.v1':
      return { stream: 'catalog', key: event.data.sku };
    case 'shop.purchase.made.v1':
    case 'shop.stock.received.v1':
    case 'shop.stock.sold.v1':
    case 'shop.stock.counted.v1':
      return { stream: 'inventory', key: stockKey(event.data.store, event.data.sku) };
    case 'shop.store.heartbeat.v1':
    case 'shop.store.defined.v1':
      return { stream: 'inventory', key: event.data.store };
    case 'shop.reservation.requested.v1':
    case 'shop.reservation.decided.v1':
    case 'shop.reservation.fulfilled.v1':
    case 'shop.reservation.cancelled.v1':
    case 'shop.reservation.expired.v1':
      return { stream: 'reservations', key: event.data.store };
    default:
      return assertNever(event);
  }
}
