/**
 * The synthetic shop's catalogue: a two-level category tree (`electronics.smartphone`) with brands,
 * a price band per leaf and search words. Products are drawn from it deterministically.
 */
import type { SeededRandom } from './seeded-random';

/** Price levels a product (and a shopper's taste) can sit at, cheapest first. */
export const PRICE_LEVELS = ['budget', 'mid', 'premium'] as const;
/** One of {@link PRICE_LEVELS}. */
export type PriceLevel = (typeof PRICE_LEVELS)[number];

/** A leaf of the category tree. */
export interface CategoryLeaf {
  /** Stable id, e.g. `cat-03`. */
  categoryId: string;
  /** Dotted path, e.g. `electronics.smartphone`. */
  categoryPath: string;
  brands: readonly string[];
  /** Cheapest and dearest unit price in EUR. */
  priceRangeEur: readonly [number, number];
  /** Words shoppers type when looking for this leaf. */
  searchTerms: readonly string[];
}

/** One product for sale. */
export interface CatalogProduct {
  productId: string;
  categoryId: string;
  categoryPath: string;
  brand: string;
  priceEur: number;
  priceLevel: PriceLevel;
}

const LEAVES: readonly Omit<CategoryLeaf, 'categoryId'>[] = [
  leaf(
    'electronics.smartphone',
    ['Nokta', 'Pixelon', 'Fonix'],
    [120, 1400],
    ['phone', 'smartphone', '5g phone'],
  ),
  leaf(
    'electronics.laptop',
    ['Lapis', 'Corewise', 'Nimbus'],
    [300, 2800],
    ['laptop', 'notebook', 'ultrabook'],
  ),
  leaf(
    'electronics.headphones',
    ['Sonora', 'Bassly'],
    [15, 450],
    ['headphones', 'earbuds', 'noise cancelling'],
  ),
  leaf('electronics.tv', ['Vistra', 'Lumen'], [180, 2500], ['tv', 'oled tv', '4k television']),
  leaf('fashion.shoes', ['Strider', 'Pavé', 'Kiko'], [25, 320], ['sneakers', 'boots', 'running shoes']),
  leaf('fashion.jackets', ['Northwind', 'Urbana'], [40, 600], ['jacket', 'winter coat', 'rain jacket']),
  leaf('fashion.dresses', ['Maison Lune', 'Petal'], [20, 400], ['dress', 'summer dress', 'evening dress']),
  leaf('home.furniture', ['Holm', 'Oakly'], [40, 1800], ['sofa', 'desk', 'bookshelf']),
  leaf('home.kitchen', ['Cucina', 'Brava', 'Steelix'], [8, 700], ['coffee machine', 'pan', 'knife set']),
  leaf('home.bedding', ['Dormi', 'Cloudrest'], [15, 350], ['duvet', 'pillow', 'bed sheets']),
  leaf('beauty.skincare', ['Aurea', 'Dermaly'], [6, 140], ['moisturiser', 'serum', 'sunscreen']),
  leaf('beauty.makeup', ['Rouge', 'Glowa'], [5, 90], ['lipstick', 'mascara', 'foundation']),
  leaf('sports.running', ['Pacer', 'Strider'], [10, 260], ['running watch', 'running shorts', 'trail shoes']),
  leaf('sports.cycling', ['Velo', 'Crankset'], [15, 3500], ['bike', 'helmet', 'bike lights']),
  leaf('books.fiction', ['Penwick', 'Inkhouse'], [6, 35], ['novel', 'crime novel', 'fantasy book']),
  leaf('books.cooking', ['Penwick', 'Saveur'], [10, 60], ['cookbook', 'baking book', 'vegan recipes']),
  leaf('toys.bricks', ['Blokk', 'Brixo'], [8, 500], ['building bricks', 'brick set', 'lego']),
  leaf('toys.boardgames', ['Meeple', 'Dicey'], [12, 120], ['board game', 'card game', 'puzzle']),
  leaf('grocery.coffee', ['Crema', 'Bean&Co'], [4, 45], ['coffee beans', 'espresso', 'ground coffee']),
  leaf('grocery.snacks', ['Crunchy', 'Nibbl'], [1, 20], ['chips', 'chocolate', 'nuts']),
];

function leaf(
  categoryPath: string,
  brands: string[],
  priceRangeEur: [number, number],
  searchTerms: string[],
): Omit<CategoryLeaf, 'categoryId'> {
  return { categoryPath, brands, priceRangeEur, searchTerms };
}

/** The category tree's leaves, with stable ids. */
export const CATEGORY_LEAVES: readonly CategoryLeaf[] = LEAVES.map((l, i) => ({
  ...l,
  categoryId: `cat-${String(i + 1).padStart(2, '0')}`,
}));

/**
 * Draw `productsPerLeaf` products for every leaf. Prices are spread on a log scale so each price
 * level covers a third of the band's ratio, as real assortments do.
 */
export function buildCatalog(random: SeededRandom, productsPerLeaf: number): CatalogProduct[] {
  const products: CatalogProduct[] = [];
  for (const category of CATEGORY_LEAVES) {
    const [low, high] = category.priceRangeEur;
    const logSpan = Math.log(high / low);
    for (let n = 0; n < productsPerLeaf; n++) {
      const levelIndex = random.int(0, PRICE_LEVELS.length - 1);
      const position = (levelIndex + random.next()) / PRICE_LEVELS.length;
      const price = low * Math.exp(logSpan * position);
      products.push({
        productId: `p-${category.categoryId.slice(4)}-${String(n + 1).padStart(3, '0')}`,
        categoryId: category.categoryId,
        categoryPath: category.categoryPath,
        brand: random.pick(category.brands),
        priceEur: Math.round(price * 100 - 1) / 100 || 0.99,
        priceLevel: PRICE_LEVELS[levelIndex]!,
      });
    }
  }
  return products;
}
