-- evictd demo seed data: 3 categories, 12 products. Idempotent: existing rows are left as they are.

INSERT INTO categories (id, name) VALUES
  (1, 'Coffee'),
  (2, 'Tea'),
  (3, 'Brewing gear')
ON CONFLICT (id) DO NOTHING;

INSERT INTO products (id, name, description, price, category_id) VALUES
  (1,  'Ethiopia Yirgacheffe', 'Washed, floral, 250 g',            14.50, 1),
  (2,  'Colombia Huila',       'Caramel and red apple, 250 g',     12.90, 1),
  (3,  'Espresso house blend', 'Chocolate, low acidity, 1 kg',     34.00, 1),
  (4,  'Decaf Peru',           'Sugarcane process, 250 g',         13.20, 1),
  (5,  'Sencha Kagoshima',     'Steamed green tea, 100 g',         11.00, 2),
  (6,  'Darjeeling 2nd flush', 'Muscatel, 100 g',                  15.75, 2),
  (7,  'Earl Grey',            'Black tea, bergamot, 100 g',        7.90, 2),
  (8,  'Rooibos vanilla',      'Caffeine free, 100 g',              6.50, 2),
  (9,  'Pour-over dripper',    'Ceramic, size 02',                 24.00, 3),
  (10, 'Gooseneck kettle',     'Stainless steel, 0.9 l',           49.00, 3),
  (11, 'Burr grinder',         'Conical burrs, 40 settings',       89.00, 3),
  (12, 'Paper filters',        'Size 02, 100 pieces',               5.40, 3)
ON CONFLICT (id) DO NOTHING;
