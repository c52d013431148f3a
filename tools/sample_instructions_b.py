"""Sample instructions, part B: complexity and readability."""

from textwrap import dedent as d

ROWS = [
    # ----------------------------------------------------------------------------- complexity
    {
        "preference": "complexity",
        "instruction": d("""\
            Given a list of integers and a target, return the indices of two numbers that add up
            to the target (Python). The list can have a million elements, so aim for the best
            time complexity."""),
        "answers": [
            ("gpt-4", 5, "One pass with a dictionary: O(n) time and O(n) space, the optimum for unsorted input, with the reasoning stated.", d("""\
                ```python
                def two_sum(nums, target):
                    seen = {}  # value -> index
                    for i, x in enumerate(nums):
                        j = seen.get(target - x)
                        if j is not None:
                            return j, i
                        seen[x] = i
                    return None
                ```
                Each element is looked up and stored once, so this is O(n) time and O(n) memory;
                the nested-loop approach would take about 5·10¹¹ steps for a million items.""")),
            ("wizardlm-7b", 1, "Nested loops, O(n²): hopeless for a million elements, the very case the instruction warns about.", d("""\
                ```python
                def two_sum(nums, target):
                    for i in range(len(nums)):
                        for j in range(len(nums)):
                            if i != j and nums[i] + nums[j] == target:
                                return i, j
                ```""")),
            ("codellama-34b-instruct", 3, "Sorting plus two pointers is O(n log n), acceptable but not optimal, and it copies the list with indices.", d("""\
                ```python
                def two_sum(nums, target):
                    order = sorted(range(len(nums)), key=nums.__getitem__)
                    lo, hi = 0, len(order) - 1
                    while lo < hi:
                        s = nums[order[lo]] + nums[order[hi]]
                        if s == target:
                            return order[lo], order[hi]
                        if s < target:
                            lo += 1
                        else:
                            hi -= 1
                ```""")),
            ("deepseek-coder-6.7b-instruct", 4, "Linear time with a dictionary, but it builds the whole map first and needs a check to avoid pairing an element with itself.", d("""\
                ```python
                def two_sum(nums, target):
                    index = {x: i for i, x in enumerate(nums)}
                    for i, x in enumerate(nums):
                        j = index.get(target - x)
                        if j is not None and j != i:
                            return i, j
                ```""")),
        ],
    },
    {
        "preference": "complexity",
        "instruction": d("""\
            Write a Java method that returns true if a string has all unique characters. Strings
            may contain any Unicode code point. Discuss the time and space complexity of your
            solution."""),
        "answers": [
            ("gpt-3.5-turbo", 4, "A HashSet over code points is O(n) time and handles all of Unicode; the early return is good, the complexity discussion is brief.", d("""\
                ```java
                static boolean allUnique(String s) {
                    Set<Integer> seen = new HashSet<>();
                    return s.codePoints().allMatch(seen::add);
                }
                ```
                O(n) time, O(n) extra space in the worst case. `allMatch` stops at the first
                repeated code point.""")),
            ("codellama-7b-instruct", 2, "Compares every pair of chars, O(n²), and works on UTF-16 chars so surrogate pairs are split.", d("""\
                ```java
                boolean allUnique(String s) {
                    for (int i = 0; i < s.length(); i++)
                        for (int j = i + 1; j < s.length(); j++)
                            if (s.charAt(i) == s.charAt(j)) return false;
                    return true;
                }
                ```""")),
            ("gpt-4", 5, "O(n) with an early exit, a pigeonhole shortcut that makes long strings O(1) to reject, correct code point handling, and a clear complexity analysis.", d("""\
                ```java
                static boolean allUnique(String s) {
                    // More code points than exist means a repeat (pigeonhole).
                    if (s.codePointCount(0, s.length()) > Character.MAX_CODE_POINT + 1) {
                        return false;
                    }
                    Set<Integer> seen = new HashSet<>();
                    for (int i = 0; i < s.length(); ) {
                        int cp = s.codePointAt(i);
                        if (!seen.add(cp)) return false;
                        i += Character.charCount(cp);
                    }
                    return true;
                }
                ```
                Time O(n) expected (hash insertions), stopping at the first repeat. Space O(k)
                for k distinct code points seen so far. Sorting the code points instead would use
                O(n log n) time but only the array's memory.""")),
            ("wizardcoder-15b", 3, "Sorting a char array gives O(n log n) and no extra set, but breaks on surrogate pairs and has no complexity discussion.", d("""\
                ```java
                boolean allUnique(String s) {
                    char[] c = s.toCharArray();
                    Arrays.sort(c);
                    for (int i = 1; i < c.length; i++) if (c[i] == c[i - 1]) return false;
                    return true;
                }
                ```""")),
        ],
    },
    {
        "preference": "complexity",
        "instruction": d("""\
            My C function to count the set bits of every number from 0 to n is too slow for
            n = 10^8. Make it faster:

            ```c
            void count_bits(unsigned n, unsigned char *out) {
                for (unsigned i = 0; i <= n; i++) {
                    unsigned c = 0, x = i;
                    while (x) { c += x & 1; x >>= 1; }
                    out[i] = c;
                }
            }
            ```"""),
        "answers": [
            ("deepseek-coder-33b-instruct", 5, "The recurrence out[i] = out[i >> 1] + (i & 1) makes the whole pass O(n) with one memory read per number, the optimal approach; the explanation is correct.", d("""\
                Reuse the answer for `i / 2`: dropping the lowest bit leaves a number you have
                already counted.

                ```c
                void count_bits(unsigned n, unsigned char *out) {
                    out[0] = 0;
                    for (unsigned i = 1; i <= n; i++) {
                        out[i] = out[i >> 1] + (i & 1);
                    }
                }
                ```
                That is O(n) with no inner loop, versus O(n log n) before.""")),
            ("gpt-3.5-turbo", 4, "Using the popcount builtin is much faster, but keeps a per-number operation instead of the O(1) recurrence and depends on GCC or Clang.", d("""\
                ```c
                void count_bits(unsigned n, unsigned char *out) {
                    for (unsigned i = 0; i <= n; i++) out[i] = (unsigned char)__builtin_popcount(i);
                }
                ```
                With `-mpopcnt` this compiles to a single instruction per number.""")),
            ("llama-2-70b-chat", 2, "Suggests compiler flags and threading in general terms without changing the algorithm.", d("""\
                Try compiling with `-O3` and splitting the loop across several threads with
                OpenMP. That should make it a lot faster on a modern machine.""")),
            ("wizardlm-33b", 3, "Kernighan's trick reduces the inner loop to the number of set bits, an improvement but still far from the linear recurrence.", d("""\
                ```c
                void count_bits(unsigned n, unsigned char *out) {
                    for (unsigned i = 0; i <= n; i++) {
                        unsigned c = 0, x = i;
                        while (x) { x &= x - 1; c++; }
                        out[i] = c;
                    }
                }
                ```""")),
        ],
    },
    {
        "preference": "complexity",
        "instruction": d("""\
            This SQL query is slow on a table with 50 million rows. Rewrite it and say which
            index would help:

            ```sql
            SELECT * FROM events WHERE DATE(created_at) = '2024-03-01' AND user_id = 42;
            ```"""),
        "answers": [
            ("gpt-4", 5, "Makes the predicate sargable with a half-open range, proposes the right composite index with the column order justified, and suggests selecting only needed columns.", d("""\
                `DATE(created_at)` wraps the column in a function, so no index on `created_at`
                can be used and every row is scanned. Compare the raw column with a range:

                ```sql
                SELECT id, user_id, kind, created_at
                FROM events
                WHERE user_id = 42
                  AND created_at >= '2024-03-01'
                  AND created_at <  '2024-03-02';
                ```
                Index: `CREATE INDEX events_user_time ON events (user_id, created_at);`
                Equality column first, range column second, so the database seeks straight to
                user 42's rows for that day.""")),
            ("mistral-7b-instruct", 3, "The range rewrite is right, but the suggested index on created_at alone is weaker than a composite index for this query.", d("""\
                ```sql
                SELECT * FROM events
                WHERE created_at BETWEEN '2024-03-01 00:00:00' AND '2024-03-01 23:59:59'
                  AND user_id = 42;
                ```
                Add an index on `created_at`.""")),
            ("codellama-13b-instruct", 2, "Adds an index on DATE(created_at) only in words, keeps SELECT *, and the query is unchanged.", d("""\
                The query is fine; just add an index so the database can find rows faster:
                `CREATE INDEX ON events (created_at);`""")),
            ("wizardcoder-33b", 4, "Correct sargable rewrite and a composite index; it puts created_at first in the index, which is less selective for this query.", d("""\
                ```sql
                SELECT * FROM events
                WHERE created_at >= '2024-03-01' AND created_at < '2024-03-02' AND user_id = 42;
                ```
                Index: `CREATE INDEX ON events (created_at, user_id);`""")),
        ],
    },
    {
        "preference": "complexity",
        "instruction": d("""\
            Implement an LRU cache in TypeScript with `get(key)` and `put(key, value)` both in
            O(1) time and a fixed capacity."""),
        "answers": [
            ("gpt-3.5-turbo", 5, "Relies on Map's insertion order to get O(1) get and put with eviction of the oldest key, minimal and correct.", d("""\
                ```typescript
                class LRUCache<K, V> {
                  private items = new Map<K, V>();
                  constructor(private readonly capacity: number) {}

                  get(key: K): V | undefined {
                    if (!this.items.has(key)) return undefined;
                    const value = this.items.get(key)!;
                    this.items.delete(key);      // move to the most recent end
                    this.items.set(key, value);
                    return value;
                  }

                  put(key: K, value: V): void {
                    this.items.delete(key);
                    this.items.set(key, value);
                    if (this.items.size > this.capacity) {
                      // The first key in insertion order is the least recently used.
                      this.items.delete(this.items.keys().next().value as K);
                    }
                  }
                }
                ```""")),
            ("codellama-34b-instruct", 2, "Keeps recency in an array and uses indexOf and splice, which makes both operations O(n).", d("""\
                ```typescript
                class LRU {
                  keys: string[] = [];
                  data: Record<string, number> = {};
                  constructor(public cap: number) {}
                  get(k: string) {
                    const i = this.keys.indexOf(k);
                    if (i < 0) return -1;
                    this.keys.splice(i, 1);
                    this.keys.push(k);
                    return this.data[k];
                  }
                  put(k: string, v: number) {
                    if (this.keys.length >= this.cap) delete this.data[this.keys.shift()!];
                    this.keys.push(k);
                    this.data[k] = v;
                  }
                }
                ```""")),
            ("deepseek-coder-6.7b-instruct", 4, "A hash map with a doubly linked list is the classic O(1) design; the code is correct but much longer than needed in TypeScript.", d("""\
                ```typescript
                type Node<K, V> = { key: K; value: V; prev?: Node<K, V>; next?: Node<K, V> };

                class LRUCache<K, V> {
                  private map = new Map<K, Node<K, V>>();
                  private head?: Node<K, V>;   // most recent
                  private tail?: Node<K, V>;   // least recent
                  constructor(private capacity: number) {}

                  private unlink(n: Node<K, V>) {
                    if (n.prev) n.prev.next = n.next; else this.head = n.next;
                    if (n.next) n.next.prev = n.prev; else this.tail = n.prev;
                    n.prev = n.next = undefined;
                  }
                  private pushFront(n: Node<K, V>) {
                    n.next = this.head;
                    if (this.head) this.head.prev = n;
                    this.head = n;
                    if (!this.tail) this.tail = n;
                  }
                  get(key: K): V | undefined {
                    const n = this.map.get(key);
                    if (!n) return undefined;
                    this.unlink(n); this.pushFront(n);
                    return n.value;
                  }
                  put(key: K, value: V) {
                    const old = this.map.get(key);
                    if (old) this.unlink(old);
                    const n: Node<K, V> = { key, value };
                    this.map.set(key, n); this.pushFront(n);
                    if (this.map.size > this.capacity && this.tail) {
                      this.map.delete(this.tail.key); this.unlink(this.tail);
                    }
                  }
                }
                ```""")),
            ("llama-2-13b-chat", 1, "No eviction at all and no recency tracking: it is a plain map wrapper, not an LRU cache.", d("""\
                ```typescript
                class Cache {
                  store: any = {};
                  get(key) { return this.store[key]; }
                  put(key, value) { this.store[key] = value; }
                }
                ```""")),
        ],
    },
    {
        "preference": "complexity",
        "instruction": d("""\
            Write a Python function that returns the n-th Fibonacci number for n up to 10^6,
            exactly (big integers). It should finish in well under a second."""),
        "answers": [
            ("gpt-4", 5, "Fast doubling needs O(log n) big-integer multiplications and finishes n = 10^6 in a fraction of a second; iterative, so no recursion limit.", d("""\
                ```python
                def fib(n):
                    a, b = 0, 1          # F(0), F(1)
                    for bit in bin(n)[2:]:
                        c = a * (2 * b - a)      # F(2k)
                        d = a * a + b * b        # F(2k + 1)
                        a, b = (d, c + d) if bit == "1" else (c, d)
                    return a
                ```
                Fast doubling uses about log₂(n) steps; each is a few multiplications of big
                integers, which Python does with Karatsuba.""")),
            ("wizardcoder-33b", 3, "The linear loop is correct but takes seconds at n = 10^6 because every addition is on a large integer.", d("""\
                ```python
                def fib(n):
                    a, b = 0, 1
                    for _ in range(n):
                        a, b = b, a + b
                    return a
                ```""")),
            ("mistral-7b-instruct", 1, "Naive recursion is exponential and hits the recursion limit long before 10^6.", d("""\
                ```python
                def fib(n):
                    if n < 2:
                        return n
                    return fib(n - 1) + fib(n - 2)
                ```""")),
            ("gpt-3.5-turbo", 2, "Binet's formula with floats loses precision beyond n ≈ 70, so results are wrong, although it runs in constant time.", d("""\
                ```python
                import math

                def fib(n):
                    phi = (1 + math.sqrt(5)) / 2
                    return round(phi ** n / math.sqrt(5))
                ```""")),
        ],
    },
    # ---------------------------------------------------------------------------- readability
    {
        "preference": "readability",
        "instruction": d("""\
            Refactor this Python function for readability without changing its behaviour:

            ```python
            def p(l):
                r=[]
                for i in l:
                    if i%2==0 and i>0: r.append(i*i)
                return r
            ```"""),
        "answers": [
            ("gpt-4", 5, "Descriptive names, a docstring, and a comprehension that reads as the rule it implements; behaviour is unchanged.", d("""\
                ```python
                def squares_of_positive_evens(numbers):
                    \"\"\"Return the squares of the numbers that are positive and even, in order.\"\"\"
                    return [n * n for n in numbers if n > 0 and n % 2 == 0]
                ```""")),
            ("codellama-7b-instruct", 3, "Adds spacing and a comment but keeps the cryptic names `p`, `l` and `r`.", d("""\
                ```python
                def p(l):
                    r = []
                    # loop over list
                    for i in l:
                        if i % 2 == 0 and i > 0:
                            r.append(i * i)
                    return r
                ```""")),
            ("wizardlm-33b", 4, "Good names and a docstring; the loop is kept rather than a clearer comprehension, which is a matter of taste.", d("""\
                ```python
                def square_positive_evens(values):
                    \"\"\"Square every positive even number in `values`.\"\"\"
                    squares = []
                    for value in values:
                        if value > 0 and value % 2 == 0:
                            squares.append(value * value)
                    return squares
                ```""")),
            ("llama-2-70b-chat", 2, "Squeezes everything into a lambda with map and filter, less readable than the original, and names nothing better.", d("""\
                ```python
                p = lambda l: list(map(lambda i: i * i, filter(lambda i: i % 2 == 0 and i > 0, l)))
                ```""")),
        ],
    },
    {
        "preference": "readability",
        "instruction": d("""\
            Write a well-documented C++ function that reads a CSV line (no quoted fields) and
            returns its fields as a `std::vector<std::string>`."""),
        "answers": [
            ("gpt-3.5-turbo", 5, "A doc comment states inputs, output and the no-quotes limitation; names are clear and the single loop is easy to follow, including the trailing empty field.", d("""\
                ```cpp
                #include <string>
                #include <string_view>
                #include <vector>

                /// Splits one CSV line into its fields.
                ///
                /// Quoted fields are not supported: every comma separates two fields.
                /// An empty line gives one empty field, and "a," gives {"a", ""}.
                std::vector<std::string> split_csv_line(std::string_view line) {
                    std::vector<std::string> fields;
                    std::size_t start = 0;
                    while (true) {
                        std::size_t comma = line.find(',', start);
                        fields.emplace_back(line.substr(start, comma - start));
                        if (comma == std::string_view::npos) break;
                        start = comma + 1;
                    }
                    return fields;
                }
                ```""")),
            ("wizardcoder-15b", 3, "Works and uses getline idiomatically, but has no documentation and silently drops a trailing empty field.", d("""\
                ```cpp
                std::vector<std::string> split(const std::string& s) {
                    std::vector<std::string> v;
                    std::stringstream ss(s);
                    std::string t;
                    while (std::getline(ss, t, ',')) v.push_back(t);
                    return v;
                }
                ```""")),
            ("codellama-34b-instruct", 2, "Index juggling with single-letter names and no comments makes the intent hard to follow.", d("""\
                ```cpp
                std::vector<std::string> f(std::string s) {
                    std::vector<std::string> r; int a = 0;
                    for (int b = 0; b <= (int)s.size(); b++)
                        if (b == (int)s.size() || s[b] == ',') { r.push_back(s.substr(a, b - a)); a = b + 1; }
                    return r;
                }
                ```""")),
            ("deepseek-coder-6.7b-instruct", 4, "Readable and documented; the comment repeats what the code says rather than the edge cases.", d("""\
                ```cpp
                // Split a CSV line on commas and return the fields.
                std::vector<std::string> parse_csv_line(const std::string& line) {
                    std::vector<std::string> fields;
                    std::string field;
                    for (char ch : line) {
                        if (ch == ',') {            // end of a field
                            fields.push_back(field);
                            field.clear();
                        } else {
                            field += ch;
                        }
                    }
                    fields.push_back(field);        // the last field
                    return fields;
                }
                ```""")),
        ],
    },
    {
        "preference": "readability",
        "instruction": d("""\
            Write a JavaScript function that formats a duration in seconds as `1h 02m 03s`,
            omitting the hours part when it is zero. Keep it easy to read."""),
        "answers": [
            ("deepseek-coder-33b-instruct", 5, "Each unit is computed on its own named line, padding is done by one small helper, and the zero-hours rule is explicit.", d("""\
                ```javascript
                function formatDuration(totalSeconds) {
                  const hours = Math.floor(totalSeconds / 3600);
                  const minutes = Math.floor((totalSeconds % 3600) / 60);
                  const seconds = Math.floor(totalSeconds % 60);
                  const twoDigits = (n) => String(n).padStart(2, "0");

                  const minutesAndSeconds = `${twoDigits(minutes)}m ${twoDigits(seconds)}s`;
                  return hours > 0 ? `${hours}h ${minutesAndSeconds}` : minutesAndSeconds;
                }
                ```""")),
            ("mistral-7b-instruct", 2, "A single nested template expression is hard to read and the hours rule is buried in it.", d("""\
                ```javascript
                const fmt = s => `${s >= 3600 ? ~~(s / 3600) + 'h ' : ''}${('0' + ~~(s % 3600 / 60)).slice(-2)}m ${('0' + s % 60).slice(-2)}s`;
                ```""")),
            ("wizardlm-7b", 3, "Readable enough, but repeats the padding logic and uses `var`.", d("""\
                ```javascript
                function format(sec) {
                  var h = Math.floor(sec / 3600);
                  var m = Math.floor(sec / 60) % 60;
                  var s = sec % 60;
                  var mm = m < 10 ? "0" + m : "" + m;
                  var ss = s < 10 ? "0" + s : "" + s;
                  if (h == 0) return mm + "m " + ss + "s";
                  return h + "h " + mm + "m " + ss + "s";
                }
                ```""")),
            ("gpt-4", 4, "Clear and correct; building a list of parts is slightly more machinery than the task needs.", d("""\
                ```javascript
                function formatDuration(seconds) {
                  const parts = [];
                  const h = Math.floor(seconds / 3600);
                  if (h > 0) parts.push(`${h}h`);
                  parts.push(`${String(Math.floor(seconds / 60) % 60).padStart(2, "0")}m`);
                  parts.push(`${String(seconds % 60).padStart(2, "0")}s`);
                  return parts.join(" ");
                }
                ```""")),
        ],
    },
    {
        "preference": "readability",
        "instruction": d("""\
            Rewrite this Go error handling so that it is easier to read:

            ```go
            func load(p string) (*Config, error) {
                f, err := os.Open(p)
                if err == nil {
                    defer f.Close()
                    var c Config
                    err = json.NewDecoder(f).Decode(&c)
                    if err == nil {
                        return &c, nil
                    } else {
                        return nil, err
                    }
                } else {
                    return nil, err
                }
            }
            ```"""),
        "answers": [
            ("gpt-3.5-turbo", 5, "Early returns remove all nesting, errors are wrapped with the file name, and names read naturally.", d("""\
                ```go
                func loadConfig(path string) (*Config, error) {
                	file, err := os.Open(path)
                	if err != nil {
                		return nil, fmt.Errorf("open config: %w", err)
                	}
                	defer file.Close()

                	var config Config
                	if err := json.NewDecoder(file).Decode(&config); err != nil {
                		return nil, fmt.Errorf("parse config %s: %w", path, err)
                	}
                	return &config, nil
                }
                ```""")),
            ("codellama-13b-instruct", 3, "Flattens the first branch only; the decode error keeps an if/else.", d("""\
                ```go
                func load(p string) (*Config, error) {
                    f, err := os.Open(p)
                    if err != nil {
                        return nil, err
                    }
                    defer f.Close()
                    var c Config
                    if err = json.NewDecoder(f).Decode(&c); err == nil {
                        return &c, nil
                    } else {
                        return nil, err
                    }
                }
                ```""")),
            ("wizardcoder-33b", 4, "Flat and idiomatic; it does not add context to the errors, which would help a reader of the logs.", d("""\
                ```go
                func load(path string) (*Config, error) {
                	f, err := os.Open(path)
                	if err != nil {
                		return nil, err
                	}
                	defer f.Close()
                	var c Config
                	if err := json.NewDecoder(f).Decode(&c); err != nil {
                		return nil, err
                	}
                	return &c, nil
                }
                ```""")),
            ("llama-2-13b-chat", 2, "Replaces errors with panics, which changes behaviour and is not easier to follow.", d("""\
                ```go
                func load(p string) *Config {
                    f, _ := os.Open(p)
                    var c Config
                    if json.NewDecoder(f).Decode(&c) != nil { panic("bad config") }
                    return &c
                }
                ```""")),
        ],
    },
    {
        "preference": "readability",
        "instruction": d("""\
            Write a Rust function that counts word frequencies in a text and returns the ten most
            common words with their counts. Prefer clarity over cleverness."""),
        "answers": [
            ("gpt-4", 4, "Clear steps with named variables and a comment on the tie-break; lowercasing is done but punctuation is not stripped, which the reader is not told.", d("""\
                ```rust
                use std::collections::HashMap;

                fn top_ten_words(text: &str) -> Vec<(String, usize)> {
                    let mut counts: HashMap<String, usize> = HashMap::new();
                    for word in text.split_whitespace() {
                        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
                    }

                    let mut by_frequency: Vec<(String, usize)> = counts.into_iter().collect();
                    // Most frequent first; equal counts in alphabetical order, so output is stable.
                    by_frequency.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                    by_frequency.truncate(10);
                    by_frequency
                }
                ```""")),
            ("deepseek-coder-6.7b-instruct", 5, "Every step is named and explained, punctuation handling is stated, and the sort key is spelled out; very easy to follow.", d("""\
                ```rust
                use std::collections::HashMap;

                /// The ten most frequent words, most frequent first.
                /// Words are compared case-insensitively, and punctuation around them is ignored.
                fn most_common_words(text: &str) -> Vec<(String, usize)> {
                    let mut frequency: HashMap<String, usize> = HashMap::new();

                    for raw_word in text.split_whitespace() {
                        let word = raw_word
                            .trim_matches(|c: char| !c.is_alphanumeric())
                            .to_lowercase();
                        if word.is_empty() {
                            continue;
                        }
                        *frequency.entry(word).or_default() += 1;
                    }

                    let mut ranked: Vec<(String, usize)> = frequency.into_iter().collect();
                    ranked.sort_by(|(word_a, count_a), (word_b, count_b)| {
                        count_b.cmp(count_a).then(word_a.cmp(word_b))
                    });
                    ranked.into_iter().take(10).collect()
                }
                ```""")),
            ("codellama-7b-instruct", 2, "A dense iterator chain with fold and unexplained tuple fields is hard to read.", d("""\
                ```rust
                fn f(t: &str) -> Vec<(String, usize)> {
                    let mut v: Vec<_> = t.split(' ').fold(std::collections::HashMap::new(), |mut m, w| { *m.entry(w.to_string()).or_insert(0) += 1; m }).into_iter().collect();
                    v.sort_by(|a, b| b.1.cmp(&a.1)); v.into_iter().take(10).collect()
                }
                ```""")),
            ("wizardlm-33b", 3, "Readable, but uses a BTreeMap and a second pass without saying why, and the names are generic.", d("""\
                ```rust
                use std::collections::BTreeMap;

                fn words(s: &str) -> Vec<(String, usize)> {
                    let mut m = BTreeMap::new();
                    for w in s.split_whitespace() {
                        *m.entry(w.to_string()).or_insert(0) += 1;
                    }
                    let mut v: Vec<_> = m.into_iter().collect();
                    v.sort_by(|a, b| b.1.cmp(&a.1));
                    v.truncate(10);
                    v
                }
                ```""")),
        ],
    },
    {
        "preference": "readability",
        "instruction": d("""\
            Write a readable Python class for a bank account with deposit, withdraw (no
            overdraft) and a transaction history."""),
        "answers": [
            ("gpt-3.5-turbo", 4, "Clear names, a dataclass for transactions and a specific exception; amounts as float are a questionable choice that is not commented.", d("""\
                ```python
                from dataclasses import dataclass, field


                class InsufficientFunds(Exception):
                    pass


                @dataclass
                class Transaction:
                    kind: str      # "deposit" or "withdrawal"
                    amount: float


                @dataclass
                class BankAccount:
                    balance: float = 0.0
                    history: list[Transaction] = field(default_factory=list)

                    def deposit(self, amount: float) -> None:
                        if amount <= 0:
                            raise ValueError("deposit must be positive")
                        self.balance += amount
                        self.history.append(Transaction("deposit", amount))

                    def withdraw(self, amount: float) -> None:
                        if amount > self.balance:
                            raise InsufficientFunds(f"balance {self.balance} < {amount}")
                        self.balance -= amount
                        self.history.append(Transaction("withdrawal", amount))
                ```""")),
            ("llama-2-70b-chat", 2, "Everything lives in one dict with string keys and returns error strings instead of raising, which obscures the flow.", d("""\
                ```python
                class Account:
                    def __init__(self):
                        self.d = {"bal": 0, "hist": []}
                    def op(self, t, a):
                        if t == "w" and a > self.d["bal"]:
                            return "error"
                        self.d["bal"] += a if t == "d" else -a
                        self.d["hist"].append((t, a))
                ```""")),
            ("gpt-4", 5, "Money in integer cents with the reason given, docstrings on each method, an immutable history record and a named exception; it reads like documentation.", d("""\
                ```python
                from dataclasses import dataclass


                class InsufficientFunds(Exception):
                    \"\"\"A withdrawal asked for more than the balance.\"\"\"


                @dataclass(frozen=True)
                class Transaction:
                    kind: str          # "deposit" or "withdrawal"
                    amount_cents: int


                class BankAccount:
                    \"\"\"An account that never goes below zero. Amounts are whole cents, so
                    sums are exact (floats would drift).\"\"\"

                    def __init__(self) -> None:
                        self.balance_cents = 0
                        self.history: list[Transaction] = []

                    def deposit(self, amount_cents: int) -> None:
                        \"\"\"Add money; the amount must be positive.\"\"\"
                        if amount_cents <= 0:
                            raise ValueError("a deposit must be positive")
                        self.balance_cents += amount_cents
                        self.history.append(Transaction("deposit", amount_cents))

                    def withdraw(self, amount_cents: int) -> None:
                        \"\"\"Take money out, refusing to overdraw.\"\"\"
                        if amount_cents <= 0:
                            raise ValueError("a withdrawal must be positive")
                        if amount_cents > self.balance_cents:
                            raise InsufficientFunds(
                                f"cannot withdraw {amount_cents} from {self.balance_cents}"
                            )
                        self.balance_cents -= amount_cents
                        self.history.append(Transaction("withdrawal", amount_cents))
                ```""")),
            ("wizardcoder-15b", 3, "Understandable, but no docstrings, a bare print on failure and a history of untyped tuples.", d("""\
                ```python
                class BankAccount:
                    def __init__(self):
                        self.balance = 0
                        self.history = []

                    def deposit(self, x):
                        self.balance += x
                        self.history.append(("deposit", x))

                    def withdraw(self, x):
                        if x > self.balance:
                            print("Not enough money")
                            return
                        self.balance -= x
                        self.history.append(("withdraw", x))
                ```""")),
        ],
    },
]
