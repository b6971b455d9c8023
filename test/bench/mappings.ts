/**
 * JSONata mappings for the generated benchmark workspace (test/bench/generate.ts): what partners really write,
 * source record → canonical entity, at realistic sizes (the Shopify order mapping is ~60 lines).
 *
 * Every function returns the text of one .jsonata file. `Tweaks` make each customer's copy a little different
 * (channel name, location, price list, tag prefix…), as customer-local copies of a partner's base mapping are in
 * practice, so no two customers' files are byte-identical.
 *
 * Rules the validator applies to mappings, kept here on purpose: no $now()/$millis()/$random()/$uuid(); product
 * mappings never output `description` (the partner policy says the storefront owns product.description); mappings
 * into the tax engine never output the PII fields (customer.email, customer.phone, billingAddress).
 */

export interface Tweaks {
  /** The sales channel written on orders (e.g. "web", "northwind-web"). */
  channel: string;
  /** A prefix added to the tags of orders and products. */
  tagPrefix: string;
  /** The default inventory location id. */
  locationId: string;
  /** The ERP price list prices are read from. */
  priceList: string;
  /** The ERP subsidiary / company the records are posted to. */
  subsidiary: string;
  /** The customer's currency (ISO 4217). */
  currency: string;
}

/** A template mapping reads its per-customer values from `$params`; a local one has them written in. */
function v(t: Tweaks | 'params', key: keyof Tweaks): string {
  return t === 'params' ? `$params.${key}` : JSON.stringify(t[key]);
}

export function shopifyOrder(t: Tweaks | 'params'): string {
  return `/*
 * Shopify order (Admin REST API, orders/create and orders/updated webhooks) → canonical order.
 * Amounts stay decimal strings; test orders and cancelled orders are filtered out (the mapping returns nothing).
 */
(
  $money := function($v) { ($v = null or $v = "") ? "0.00" : $formatNumber($number($v), "0.00") };
  $addr := function($a) {
    $a ? {
      "firstName": $a.first_name,
      "lastName": $a.last_name,
      "company": $a.company,
      "line1": $a.address1,
      "line2": $a.address2,
      "city": $a.city,
      "region": $a.province,
      "regionCode": $a.province_code,
      "postalCode": $a.zip,
      "country": $a.country_code,
      "phone": $a.phone
    }
  };
  $lineDiscount := function($l) { $sum($l.discount_allocations.$number(amount)) };
  $lineTax := function($l) { $sum($l.tax_lines.$number(price)) };

  $not(test = true or $boolean(cancelled_at)) ? {
    "externalId": $string(id),
    "number": name,
    "channel": source_name = "pos" ? "pos" : ${v(t, 'channel')},
    "createdAt": created_at,
    "currency": currency,
    "customer": customer ? {
      "externalId": $string(customer.id),
      "email": customer.email ? customer.email : email,
      "phone": customer.phone ? customer.phone : phone,
      "firstName": customer.first_name,
      "lastName": customer.last_name
    },
    "billingAddress": $addr(billing_address),
    "shippingAddress": $addr(shipping_address),
    "lines": [line_items[quantity > 0].{
      "externalId": $string(id),
      "sku": sku ? sku : "variant-" & $string(variant_id),
      "title": variant_title ? title & " - " & variant_title : title,
      "quantity": quantity,
      "unitPrice": $money(price),
      "discount": $money($lineDiscount($)),
      "tax": $money($lineTax($)),
      "total": $money($number(price) * quantity - $lineDiscount($))
    }],
    "taxes": [tax_lines.{ "title": title, "rate": $string(rate), "amount": $money(price) }],
    "discounts": [discount_codes.{
      "code": code,
      "amount": $money(amount),
      "type": type = "percentage" ? "percentage" : type = "shipping" ? "shipping" : "fixed"
    }],
    "shipping": [shipping_lines.{ "title": title, "amount": $money(price), "tax": $money($sum(tax_lines.$number(price))) }],
    "subtotal": $money(subtotal_price),
    "discountTotal": $money(total_discounts),
    "taxTotal": $money(total_tax),
    "shippingTotal": $money(total_shipping_price_set.shop_money.amount),
    "total": $money(total_price),
    "financialStatus": financial_status,
    "fulfillmentStatus": fulfillment_status ? fulfillment_status : "unfulfilled",
    "tags": [$map($filter($split(tags, ","), function($s) { $trim($s) != "" }), function($s) { ${v(t, 'tagPrefix')} & $trim($s) })],
    "note": note
  }
)
`;
}

export function woocommerceOrder(t: Tweaks): string {
  return `/* WooCommerce order (REST API v3, order.created / order.updated) → canonical order. */
(
  $money := function($v) { ($v = null or $v = "") ? "0.00" : $formatNumber($number($v), "0.00") };
  $addr := function($a) {
    $a.address_1 ? {
      "firstName": $a.first_name,
      "lastName": $a.last_name,
      "company": $a.company,
      "line1": $a.address_1,
      "line2": $a.address_2,
      "city": $a.city,
      "regionCode": $a.state,
      "postalCode": $a.postcode,
      "country": $a.country,
      "phone": $a.phone
    }
  };

  status in ["pending", "processing", "on-hold", "completed"] ? {
    "externalId": $string(id),
    "number": "#" & number,
    "channel": ${JSON.stringify(t.channel)},
    "createdAt": date_created_gmt & "Z",
    "currency": currency,
    "customer": customer_id > 0 ? {
      "externalId": $string(customer_id),
      "email": billing.email,
      "phone": billing.phone,
      "firstName": billing.first_name,
      "lastName": billing.last_name
    },
    "billingAddress": $addr(billing),
    "shippingAddress": $addr(shipping),
    "lines": [line_items.{
      "externalId": $string(id),
      "sku": sku ? sku : "product-" & $string(product_id),
      "title": name,
      "quantity": quantity,
      "unitPrice": $money(price),
      "discount": $money($number(subtotal) - $number(total)),
      "tax": $money(total_tax),
      "total": $money(total)
    }],
    "taxes": [tax_lines.{ "title": label, "rate": $formatNumber(rate_percent / 100, "0.0000"), "amount": $money(tax_total) }],
    "discounts": [coupon_lines.{ "code": code, "amount": $money(discount), "type": "fixed" }],
    "shipping": [shipping_lines.{ "title": method_title, "amount": $money(total), "tax": $money(total_tax) }],
    "discountTotal": $money(discount_total),
    "taxTotal": $money(total_tax),
    "shippingTotal": $money(shipping_total),
    "total": $money(total),
    "financialStatus": date_paid ? "paid" : "pending",
    "tags": [${JSON.stringify(t.tagPrefix + 'woocommerce')}],
    "note": customer_note
  }
)
`;
}

export function squareOrder(t: Tweaks): string {
  return `/* Square order (Orders API, order.created) → canonical order. Money is in minor units in Square. */
(
  $money := function($m) { $formatNumber(($m.amount ? $m.amount : 0) / 100, "0.00") };
  state != "CANCELED" ? {
    "externalId": id,
    "number": reference_id ? reference_id : id,
    "channel": "pos-" & location_id,
    "createdAt": created_at,
    "currency": total_money.currency,
    "customer": customer_id ? { "externalId": customer_id },
    "lines": [line_items.{
      "externalId": uid,
      "sku": catalog_object_id ? catalog_object_id : ${JSON.stringify(t.tagPrefix)} & uid,
      "title": variation_name ? name & " - " & variation_name : name,
      "quantity": $number(quantity),
      "unitPrice": $money(base_price_money),
      "discount": $money(total_discount_money),
      "tax": $money(total_tax_money),
      "total": $money(total_money)
    }],
    "taxes": [taxes.{ "title": name, "rate": $formatNumber($number(percentage) / 100, "0.0000"), "amount": $money(applied_money) }],
    "discounts": [discounts.{ "code": name, "amount": $money(applied_money), "type": type = "FIXED_PERCENTAGE" ? "percentage" : "fixed" }],
    "discountTotal": $money(total_discount_money),
    "taxTotal": $money(total_tax_money),
    "total": $money(total_money),
    "financialStatus": state = "COMPLETED" ? "paid" : "pending",
    "fulfillmentStatus": "fulfilled"
  }
)
`;
}

/** The order as the tax engine gets it: no customer, no billing address (PII stays out of the tax engine). */
export function orderForTax(source: 'shopify' | 'woocommerce', t: Tweaks): string {
  const addr = source === 'shopify' ? 'shipping_address' : 'shipping';
  const l1 = source === 'shopify' ? 'address1' : 'address_1';
  const region = source === 'shopify' ? 'province_code' : 'state';
  const zip = source === 'shopify' ? 'zip' : 'postcode';
  const country = source === 'shopify' ? 'country_code' : 'country';
  const items = source === 'shopify' ? 'line_items' : 'line_items';
  const created = source === 'shopify' ? 'created_at' : 'date_created_gmt & "Z"';
  return `/* ${source} order → canonical order for tax calculation. PII (customer, billing address) is left out by policy. */
(
  $money := function($v) { $formatNumber($number($v), "0.00") };
  {
    "externalId": $string(id),
    "channel": ${JSON.stringify(t.channel)},
    "createdAt": ${created},
    "currency": currency,
    "shippingAddress": {
      "line1": ${addr}.${l1},
      "city": ${addr}.city,
      "regionCode": ${addr}.${region},
      "postalCode": ${addr}.${zip},
      "country": ${addr}.${country}
    },
    "lines": [${items}.{
      "externalId": $string(id),
      "sku": sku,
      "quantity": quantity,
      "unitPrice": $money(price),
      "total": $money($number(price) * quantity)
    }],
    "taxTotal": $money(total_tax),
    "total": $money(total_price ? total_price : total)
  }
)
`;
}

export function shopifyRefund(t: Tweaks | 'params'): string {
  return `/* Shopify refund (refunds/create) → canonical refund. */
(
  $money := function($v) { $formatNumber($number($v ? $v : 0), "0.00") };
  {
    "externalId": $string(id),
    "orderExternalId": $string(order_id),
    "createdAt": created_at,
    "currency": transactions[0].currency ? transactions[0].currency : ${v(t, 'currency')},
    "reason": note ? note : "refund",
    "lines": [refund_line_items.{
      "orderLineExternalId": $string(line_item_id),
      "sku": line_item.sku,
      "quantity": quantity,
      "amount": $money(subtotal),
      "restock": restock_type != "no_restock"
    }],
    "shipping": $money($sum(order_adjustments[kind = "shipping_refund"].$number(amount)) * -1),
    "tax": $money($sum(refund_line_items.$number(total_tax))),
    "total": $money($sum(transactions[kind = "refund" and status = "success"].$number(amount))),
    "transactions": [transactions.{ "externalId": $string(id), "gateway": gateway, "amount": $money(amount), "status": status }]
  }
)
`;
}

export function woocommerceRefund(t: Tweaks): string {
  return `/* WooCommerce refund (order.updated: the order, with its refunds) → canonical refund of the latest refund, if any. */
(
  $r := refunds[-1];
  $r ? {
    "externalId": $string($r.id),
    "orderExternalId": $string(id),
    "createdAt": date_modified_gmt & "Z",
    "currency": currency ? currency : ${JSON.stringify(t.currency)},
    "reason": $r.reason ? $r.reason : "refund",
    "total": $formatNumber($abs($number($r.total)), "0.00")
  }
)
`;
}

export function squareRefund(t: Tweaks): string {
  return `/* Square refund (refund.created) → canonical refund. */
{
  "externalId": id,
  "orderExternalId": order_id,
  "createdAt": created_at,
  "currency": amount_money.currency ? amount_money.currency : ${JSON.stringify(t.currency)},
  "reason": reason,
  "total": $formatNumber(amount_money.amount / 100, "0.00"),
  "transactions": [{ "externalId": payment_id, "gateway": "square", "amount": $formatNumber(amount_money.amount / 100, "0.00"), "status": status = "COMPLETED" ? "success" : "pending" }]
}
`;
}

export function stripeRefund(t: Tweaks): string {
  return `/* Stripe refund (charge.refunded: the charge with its refunds) → canonical refund. Stripe amounts are in minor units. */
(
  $r := refunds.data[0];
  {
    "externalId": $r.id,
    "orderExternalId": metadata.order_id ? metadata.order_id : id,
    "createdAt": $fromMillis($r.created * 1000),
    "currency": $uppercase(currency ? currency : ${JSON.stringify(t.currency.toLowerCase())}),
    "reason": $r.reason ? $r.reason : "requested_by_customer",
    "total": $formatNumber($r.amount / 100, "0.00"),
    "transactions": [{ "externalId": $r.id, "gateway": "stripe", "amount": $formatNumber($r.amount / 100, "0.00"), "status": $r.status = "succeeded" ? "success" : "pending" }]
  }
)
`;
}

export function storefrontCustomer(source: 'shopify' | 'woocommerce', t: Tweaks): string {
  if (source === 'shopify') {
    return `/* Shopify customer (customers/create) → canonical customer. */
{
  "externalId": $string(id),
  "email": email,
  "phone": phone,
  "firstName": first_name,
  "lastName": last_name,
  "addresses": [addresses.{
    "firstName": first_name, "lastName": last_name, "company": company,
    "line1": address1, "line2": address2, "city": city,
    "regionCode": province_code, "postalCode": zip, "country": country_code, "phone": phone
  }],
  "acceptsMarketing": email_marketing_consent.state = "subscribed",
  "createdAt": created_at
}
`;
  }
  return `/* WooCommerce customer (customer.created) → canonical customer (${t.channel}). */
{
  "externalId": $string(id),
  "email": email,
  "phone": billing.phone,
  "firstName": first_name,
  "lastName": last_name,
  "addresses": [billing.address_1 ? {
    "firstName": billing.first_name, "lastName": billing.last_name, "company": billing.company,
    "line1": billing.address_1, "line2": billing.address_2, "city": billing.city,
    "regionCode": billing.state, "postalCode": billing.postcode, "country": billing.country
  }],
  "createdAt": date_created_gmt & "Z"
}
`;
}

export function erpCustomer(erp: 'netsuite' | 'business-central', t: Tweaks): string {
  if (erp === 'netsuite') {
    return `/* NetSuite customer record → canonical customer (B2B accounts of subsidiary ${t.subsidiary}). */
isinactive != true and subsidiary.id = ${JSON.stringify(t.subsidiary)} ? {
  "externalId": $string(id),
  "email": email,
  "phone": phone,
  "firstName": firstname ? firstname : companyname,
  "lastName": lastname,
  "createdAt": datecreated
}
`;
  }
  return `/* Business Central customer → canonical customer (company ${t.subsidiary}). */
blocked = " " or blocked = "" ? {
  "externalId": id,
  "email": email,
  "phone": phoneNumber,
  "firstName": displayName,
  "addresses": [{ "line1": addressLine1, "line2": addressLine2, "city": city, "regionCode": state, "postalCode": postalCode, "country": country }],
  "createdAt": lastModifiedDateTime
}
`;
}

/** ERP item → canonical product. No `description`: the storefront owns it (policy). */
export function erpProduct(erp: 'netsuite' | 'business-central', t: Tweaks | 'params'): string {
  if (erp === 'netsuite') {
    return `/*
 * NetSuite inventory item → canonical product. The description is not mapped: the storefront owns
 * product.description (partner policy), the ERP owns everything else about a product.
 */
(
  $money := function($v) { $formatNumber($number($v ? $v : 0), "0.00") };
  isinactive != true and custitem_webstore = true ? {
    "id": $string(id),
    "sku": itemid,
    "title": displayname ? displayname : itemid,
    "vendor": custitem_brand ? custitem_brand : vendorname,
    "productType": class.refName,
    "status": isonline ? "active" : "draft",
    "currency": ${v(t, 'currency')},
    "variants": [matrixchildren ? matrixchildren.{
      "id": $string(id),
      "sku": itemid,
      "title": displayname,
      "barcode": upccode,
      "price": $money(baseprice),
      "cost": $money(cost),
      "weight": weight,
      "taxable": true,
      "requiresShipping": true
    } : {
      "id": $string(id),
      "sku": itemid,
      "barcode": upccode,
      "price": $money(baseprice),
      "cost": $money(cost),
      "weight": weight,
      "requiresShipping": true
    }],
    "tags": [${v(t, 'tagPrefix')} & "erp", class.refName],
    "createdAt": createddate,
    "updatedAt": lastmodifieddate
  }
)
`;
  }
  return `/* Business Central item → canonical product (the storefront owns the description). */
(
  blocked != true ? {
    "id": id,
    "sku": number,
    "title": displayName,
    "productType": itemCategoryCode,
    "status": "active",
    "currency": ${v(t, 'currency')},
    "variants": [{
      "id": id,
      "sku": number,
      "barcode": gtin,
      "price": $formatNumber(unitPrice, "0.00"),
      "cost": $formatNumber(unitCost, "0.00"),
      "taxable": taxGroupCode != "NONTAXABLE",
      "requiresShipping": type = "Inventory"
    }],
    "tags": [${v(t, 'tagPrefix')} & "erp"],
    "updatedAt": lastModifiedDateTime
  }
)
`;
}

export function erpPrice(erp: 'netsuite' | 'business-central', t: Tweaks | 'params'): string {
  const sku = erp === 'netsuite' ? 'item.refName' : 'itemNumber';
  const amount = erp === 'netsuite' ? 'unitprice' : 'unitPrice';
  const list = erp === 'netsuite' ? 'pricelevel.refName' : 'priceListCode';
  return `/* ${erp} price (${t === 'params' ? 'the price list in $params.priceList' : `price list ${t.priceList}`}) → canonical price. */
${list} = ${v(t, 'priceList')} ? {
  "sku": ${sku},
  "amount": $formatNumber($number(${amount}), "0.00"),
  "currency": currency ? currency : ${v(t, 'currency')},
  "priceList": ${v(t, 'priceList')}
}
`;
}

export function erpInventory(erp: 'netsuite' | 'business-central', t: Tweaks | 'params'): string {
  const sku = erp === 'netsuite' ? 'item.refName' : 'itemNumber';
  const avail = erp === 'netsuite' ? 'quantityavailable' : 'inventory';
  const onHand = erp === 'netsuite' ? 'quantityonhand' : 'inventory';
  return `/* ${erp} inventory balance → canonical inventory level at the storefront's location. */
{
  "sku": ${sku},
  "locationId": ${v(t, 'locationId')},
  "available": $max([0, $floor($number(${avail} ? ${avail} : 0))]),
  "onHand": $floor($number(${onHand} ? ${onHand} : 0)),
  "updatedAt": lastmodifieddate ? lastmodifieddate : lastModifiedDateTime
}
`;
}

export function stripeSettlement(kind: 'payout' | 'charge' | 'balance', t: Tweaks | 'params'): string {
  if (kind === 'payout') {
    return `/* Stripe payout (payout.paid) → canonical settlement (the bank deposit). Minor units → decimal strings. */
(
  $amt := function($n) { $formatNumber($n / 100, "0.00") };
  {
    "externalId": id,
    "source": "stripe",
    "currency": $uppercase(currency),
    "grossAmount": $amt(amount + (fee ? fee : 0)),
    "fees": $amt(fee ? fee : 0),
    "netAmount": $amt(amount),
    "arrivalDate": $fromMillis(arrival_date * 1000, "[Y0001]-[M01]-[D01]"),
    "status": status = "paid" ? "paid" : "pending",
    "transactions": [balance_transactions.data.{
      "externalId": id,
      "type": type = "charge" ? "charge" : type = "refund" ? "refund" : "adjustment",
      "orderExternalId": source.metadata.order_id,
      "amount": $amt(amount),
      "fee": $amt(fee),
      "net": $amt(net)
    }]
  }
)
`;
  }
  if (kind === 'charge') {
    return `/* Stripe charge → canonical settlement line for the ERP's clearing account (${t === 'params' ? 'template' : t.subsidiary}). */
status = "succeeded" ? {
  "externalId": id,
  "source": "stripe",
  "currency": $uppercase(currency),
  "grossAmount": $formatNumber(amount / 100, "0.00"),
  "fees": $formatNumber((balance_transaction.fee ? balance_transaction.fee : 0) / 100, "0.00"),
  "netAmount": $formatNumber((amount - (balance_transaction.fee ? balance_transaction.fee : 0)) / 100, "0.00"),
  "status": "pending"
}
`;
  }
  return `/* Stripe balance transaction → canonical settlement (daily reconciliation). */
{
  "externalId": id,
  "source": "stripe",
  "currency": $uppercase(currency),
  "grossAmount": $formatNumber(amount / 100, "0.00"),
  "fees": $formatNumber(fee / 100, "0.00"),
  "netAmount": $formatNumber(net / 100, "0.00"),
  "arrivalDate": $fromMillis(available_on * 1000, "[Y0001]-[M01]-[D01]"),
  "status": status = "available" ? "paid" : "pending"
}
`;
}

export function shopifyFulfillment(t: Tweaks): string {
  return `/* Shopify fulfillment (fulfillments/create) → canonical fulfillment. */
status != "cancelled" ? {
  "externalId": $string(id),
  "orderExternalId": $string(order_id),
  "status": status = "success" ? "shipped" : "pending",
  "trackingNumbers": tracking_numbers,
  "carrier": tracking_company,
  "lines": [line_items.{ "orderLineExternalId": $string(id), "sku": sku, "quantity": quantity }],
  "createdAt": created_at,
  "locationId": location_id ? $string(location_id) : ${JSON.stringify(t.locationId)}
}
`;
}
