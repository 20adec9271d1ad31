// `list customers|products|purchases` and `report sales`: the readers are queries and nothing
// else, so they live in the db store; commands reach them here (commands never import db/).
export {
  countOf,
  customerSorts,
  listCustomers,
  listProducts,
  listPurchases,
  productSorts,
  purchaseSorts,
  readPlan,
  salesReport,
  type CustomerRow,
  type CustomerSort,
  type Listed,
  type OwnedItem,
  type ProductSort,
  type PurchaseRow,
  type PurchaseSort,
  type ReadPlan,
  type SalesReportRow,
} from '../db/read-store.js';
