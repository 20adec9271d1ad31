import { stockKey, type ShopEvent } from './events.js';
import { assertNever } from './projector.js';

// Which stream an event belongs to and the key that orders it. Everything that changes one
// stock level (purchases, goods received, sales, counts) shares the key store:sku,
// so it lands on one partition and is applied by one writer, in order.
export type Stream = 'customers' | 'catalog' | 'inventory';

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
    default:
      return assertNever(event);
  }
}
