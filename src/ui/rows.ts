import type { ProductView, PurchaseDoc } from '../domain/documents.js';
import { stockStatus } from '../domain/stock-level.js';
import type { CustomerRow } from '../services/read.js';
import type { AvailableRow, GlobalStockRow } from '../services/stock.js';

// --json rows: the table's columns under the same names (a header's words in camelCase, without
// its parenthesis), with structured values (money as { amount, currency } in minor units), plus
// the fields the table leaves out. test/int/consistency.int.test.ts holds every list to this.
export const customerJson = (c: CustomerRow) => ({
  id: c._id,
  name: `${c.firstName} ${c.lastName}`,
  email: c.email,
  city: c.address.city,
  purchases: c.purchases,
  owns: c.owned,
  firstName: c.firstName,
  lastName: c.lastName,
  address: c.address,
  locale: c.locale,
  registeredAt: c.registeredAt,
});

export const productJson = (p: ProductView) => ({
  sku: p._id,
  name: p.name,
  category: p.category,
  price: p.price,
  sold: p.sold.quantity,
  revenue: p.sold.revenue,
  addedAt: p.addedAt,
});

export const purchaseJson = (p: PurchaseDoc) => ({
  id: p._id,
  time: p.time,
  customer: p.customerId,
  sku: p.sku,
  store: p.store,
  quantity: p.quantity,
  unitPrice: p.unitPrice,
  total: p.total,
});

// `list stock --json`: the table's columns (available as a number; `freshness` says whether the
// store is stale, when the table marks it), plus the rest.
export const stockJson = (r: AvailableRow) => ({
  store: r.store,
  sku: r.sku,
  level: r.level,
  pending: r.pending,
  available: r.available,
  threshold: r.threshold,
  status: stockStatus(r.level, r.threshold),
  low: r.low,
  updated: r.updatedAt,
  margin: r.margin,
  freshness: r.freshness,
  lastHeartbeat: r.lastHeartbeat,
  inCatalogue: r.inCatalogue,
});

export const globalJson = (r: GlobalStockRow) => ({
  sku: r.sku,
  onHand: r.onHand,
  pending: r.pending,
  available: r.available,
  stores: r.stores,
  staleStores: r.staleStores,
  availableAtStaleStores: r.availableAtStaleStores,
  inCatalogue: r.inCatalogue,
});
