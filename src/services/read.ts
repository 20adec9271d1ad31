// `list customers|products|purchases`: the readers are queries and nothing else, so they live in
// the db store; commands reach them here (commands never import db/).
export {
  countOf,
  customerSorts,
  listCustomers,
  listProducts,
  listPurchases,
  productSorts,
  purchaseSorts,
  type CustomerRow,
  type CustomerSort,
  type Listed,
  type OwnedItem,
  type ProductSort,
  type PurchaseSort,
} from '../db/read-store.js';
