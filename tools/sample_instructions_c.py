"""Sample instructions, part C: coding style, and the CODAL-Bench items."""

from textwrap import dedent as d

ROWS = [
    # ---------------------------------------------------------------------------------- style
    {
        "preference": "style",
        "instruction": d("""\
            Write an idiomatic Python function that reads a text file and returns the number of
            non-empty lines."""),
        "answers": [
            ("gpt-4", 5, "Idiomatic throughout: a context manager, explicit encoding, a generator expression with sum, type hints and a PEP 8 name.", d("""\
                ```python
                from pathlib import Path


                def count_non_empty_lines(path: Path | str) -> int:
                    with open(path, encoding="utf-8") as handle:
                        return sum(1 for line in handle if line.strip())
                ```""")),
            ("codellama-13b-instruct", 2, "Never closes the file, reads everything into memory and uses a C-style index loop with camelCase.", d("""\
                ```python
                def countLines(fileName):
                    f = open(fileName)
                    lines = f.readlines()
                    count = 0
                    for i in range(len(lines)):
                        if lines[i].strip() != "":
                            count = count + 1
                    return count
                ```""")),
            ("mistral-7b-instruct", 4, "Pythonic and closes the file; no encoding is given, so results depend on the locale.", d("""\
                ```python
                def count_non_empty_lines(path):
                    with open(path) as f:
                        return sum(bool(line.strip()) for line in f)
                ```""")),
            ("wizardlm-7b", 3, "Uses a context manager but builds a list only to take its length and has a vague name.", d("""\
                ```python
                def lines(p):
                    with open(p) as f:
                        return len([l for l in f if l.strip() != ""])
                ```""")),
        ],
    },
    {
        "preference": "style",
        "instruction": d("""\
            Write a TypeScript function that fetches JSON from a URL and returns it typed as a
            given interface, following current TypeScript conventions."""),
        "answers": [
            ("gpt-3.5-turbo", 4, "async/await, a generic return type and a checked response status; `as T` without validation is common but worth a comment.", d("""\
                ```typescript
                export async function fetchJson<T>(url: string, init?: RequestInit): Promise<T> {
                  const response = await fetch(url, init);
                  if (!response.ok) {
                    throw new Error(`GET ${url} failed: ${response.status} ${response.statusText}`);
                  }
                  return (await response.json()) as T;
                }
                ```""")),
            ("deepseek-coder-33b-instruct", 5, "Modern and strict: generic with a runtime guard parameter instead of an unchecked cast, unknown instead of any, a custom error class and an exported function.", d("""\
                ```typescript
                export class HttpError extends Error {
                  constructor(readonly status: number, url: string) {
                    super(`request to ${url} failed with status ${status}`);
                    this.name = "HttpError";
                  }
                }

                export async function fetchJson<T>(
                  url: string,
                  isT: (value: unknown) => value is T,
                ): Promise<T> {
                  const response = await fetch(url);
                  if (!response.ok) throw new HttpError(response.status, url);
                  const body: unknown = await response.json();
                  if (!isT(body)) throw new TypeError(`unexpected JSON shape from ${url}`);
                  return body;
                }
                ```""")),
            ("llama-2-13b-chat", None, "", d("""\
                ```typescript
                function getData(url, callback) {
                  var xhr = new XMLHttpRequest();
                  xhr.open("GET", url);
                  xhr.onload = function () { callback(JSON.parse(xhr.responseText)); };
                  xhr.send();
                }
                ```""")),
            ("wizardcoder-15b", 2, "Uses promise chains with `any`, swallows errors with console.log and has no generic type.", d("""\
                ```typescript
                function fetchJson(url: string): Promise<any> {
                  return fetch(url).then(r => r.json()).catch(e => console.log(e));
                }
                ```""")),
        ],
    },
    {
        "preference": "style",
        "instruction": d("""\
            Write an idiomatic Go function that sums the values of a `map[string]int`, with a
            table-driven test."""),
        "unparsed_judge_output": d("""\
            All four answers are reasonable attempts. The first is the most idiomatic and its test
            follows the table-driven pattern well; the second and fourth are close behind, while
            the third misses the test entirely. Overall I would rank them first, second, fourth,
            third, but each has strengths worth keeping in mind when choosing."""),
        "answers": [
            ("gpt-4", None, "", d("""\
                ```go
                func Sum(values map[string]int) int {
                	total := 0
                	for _, v := range values {
                		total += v
                	}
                	return total
                }

                func TestSum(t *testing.T) {
                	tests := []struct {
                		name string
                		in   map[string]int
                		want int
                	}{
                		{"nil map", nil, 0},
                		{"one", map[string]int{"a": 3}, 3},
                		{"several", map[string]int{"a": 1, "b": -2, "c": 5}, 4},
                	}
                	for _, tt := range tests {
                		t.Run(tt.name, func(t *testing.T) {
                			if got := Sum(tt.in); got != tt.want {
                				t.Errorf("Sum(%v) = %d, want %d", tt.in, got, tt.want)
                			}
                		})
                	}
                }
                ```""")),
            ("gpt-3.5-turbo", None, "", d("""\
                ```go
                func SumValues(m map[string]int) (sum int) {
                	for _, v := range m {
                		sum += v
                	}
                	return
                }

                func TestSumValues(t *testing.T) {
                	cases := map[string]struct {
                		in   map[string]int
                		want int
                	}{
                		"empty": {map[string]int{}, 0},
                		"mixed": {map[string]int{"x": 10, "y": -4}, 6},
                	}
                	for name, c := range cases {
                		if got := SumValues(c.in); got != c.want {
                			t.Errorf("%s: got %d, want %d", name, got, c.want)
                		}
                	}
                }
                ```""")),
            ("codellama-7b-instruct", None, "", d("""\
                ```go
                func sum_map(m map[string]int) int {
                    var keys []string
                    for k := range m { keys = append(keys, k) }
                    s := 0
                    for i := 0; i < len(keys); i++ { s = s + m[keys[i]] }
                    return s
                }
                ```""")),
            ("deepseek-coder-6.7b-instruct", None, "", d("""\
                ```go
                // Sum returns the total of all values in m.
                func Sum(m map[string]int) int {
                	var total int
                	for _, value := range m {
                		total += value
                	}
                	return total
                }

                func TestSum(t *testing.T) {
                	for _, tc := range []struct {
                		m    map[string]int
                		want int
                	}{
                		{nil, 0},
                		{map[string]int{"a": 2, "b": 2}, 4},
                	} {
                		if got := Sum(tc.m); got != tc.want {
                			t.Fatalf("Sum(%v) = %d; want %d", tc.m, got, tc.want)
                		}
                	}
                }
                ```""")),
        ],
    },
    {
        "preference": "style",
        "instruction": d("""\
            Rewrite this Java loop in modern Java style (Java 17):

            ```java
            List<String> names = new ArrayList<String>();
            for (int i = 0; i < people.size(); i++) {
                Person p = people.get(i);
                if (p.getAge() >= 18) {
                    names.add(p.getName().toUpperCase());
                }
            }
            Collections.sort(names);
            ```"""),
        "answers": [
            ("gpt-3.5-turbo", 5, "A stream pipeline that reads as the requirement, method references, and `toList()` from Java 16+, producing an unmodifiable list as modern style prefers.", d("""\
                ```java
                List<String> names = people.stream()
                        .filter(person -> person.getAge() >= 18)
                        .map(Person::getName)
                        .map(String::toUpperCase)
                        .sorted()
                        .toList();
                ```""")),
            ("wizardcoder-33b", 4, "A good stream rewrite; `Collectors.toList()` is the pre-16 idiom where `toList()` now suffices.", d("""\
                ```java
                List<String> names = people.stream()
                    .filter(p -> p.getAge() >= 18)
                    .map(p -> p.getName().toUpperCase())
                    .sorted()
                    .collect(Collectors.toList());
                ```""")),
            ("codellama-34b-instruct", 3, "Switches to an enhanced for loop and `var` but keeps the imperative structure and the separate sort.", d("""\
                ```java
                var names = new ArrayList<String>();
                for (var p : people) {
                    if (p.getAge() >= 18) names.add(p.getName().toUpperCase());
                }
                Collections.sort(names);
                ```""")),
            ("llama-2-70b-chat", 2, "Only changes the diamond operator; the rest is the original code.", d("""\
                ```java
                List<String> names = new ArrayList<>();
                for (int i = 0; i < people.size(); i++) {
                    Person p = people.get(i);
                    if (p.getAge() >= 18) {
                        names.add(p.getName().toUpperCase());
                    }
                }
                Collections.sort(names);
                ```""")),
        ],
    },
    {
        "preference": "style",
        "instruction": d("""\
            Write a Bash function that logs a message with a timestamp to stderr, in a style that
            passes ShellCheck."""),
        "answers": [
            ("deepseek-coder-33b-instruct", 5, "Quoted expansions, printf instead of echo, `local`, output to stderr and a portable date format: clean under ShellCheck.", d("""\
                ```bash
                log() {
                  local timestamp
                  timestamp=$(date '+%Y-%m-%dT%H:%M:%S%z')
                  printf '%s %s\\n' "$timestamp" "$*" >&2
                }
                ```""")),
            ("mistral-7b-instruct", 2, "Unquoted `$@` and backticks would both be flagged by ShellCheck, and it writes to stdout.", d("""\
                ```bash
                function log {
                  echo `date` $@
                }
                ```""")),
            ("gpt-4", 4, "Correct and quoted; declaring and assigning `local` in one line masks the exit status of date (ShellCheck SC2155).", d("""\
                ```bash
                log() {
                  local now="$(date +%FT%T)"
                  echo "[$now] $*" >&2
                }
                ```""")),
            ("wizardlm-33b", 3, "Goes to stderr and quotes the message, but uses the `function` keyword with parentheses and echo -e, which ShellCheck warns about for portability.", d("""\
                ```bash
                function log() {
                  echo -e "$(date) - $1" 1>&2
                }
                ```""")),
        ],
    },
    {
        "preference": "style",
        "instruction": d("""\
            Write a small Rust struct `Temperature` with conversions between Celsius and
            Fahrenheit, following Rust API conventions."""),
        "answers": [
            ("gpt-4", 5, "Follows the API guidelines: `from_*`/`as_*` naming, a Copy newtype, `#[must_use]`, derived traits and Display, and doc comments.", d("""\
                ```rust
                use std::fmt;

                /// A temperature, stored in degrees Celsius.
                #[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
                pub struct Temperature {
                    celsius: f64,
                }

                impl Temperature {
                    #[must_use]
                    pub fn from_celsius(celsius: f64) -> Self {
                        Self { celsius }
                    }

                    #[must_use]
                    pub fn from_fahrenheit(fahrenheit: f64) -> Self {
                        Self { celsius: (fahrenheit - 32.0) * 5.0 / 9.0 }
                    }

                    pub fn as_celsius(self) -> f64 {
                        self.celsius
                    }

                    pub fn as_fahrenheit(self) -> f64 {
                        self.celsius * 9.0 / 5.0 + 32.0
                    }
                }

                impl fmt::Display for Temperature {
                    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "{:.1} °C", self.celsius)
                    }
                }
                ```""")),
            ("codellama-7b-instruct", 2, "Java-style getters and setters with camelCase names go against Rust conventions.", d("""\
                ```rust
                pub struct Temperature { pub value: f64 }
                impl Temperature {
                    pub fn getCelsius(&self) -> f64 { self.value }
                    pub fn setCelsius(&mut self, v: f64) { self.value = v; }
                    pub fn getFahrenheit(&self) -> f64 { self.value * 1.8 + 32.0 }
                }
                ```""")),
            ("deepseek-coder-6.7b-instruct", 4, "Idiomatic names and derives; it stores both units, which duplicates state, and lacks docs.", d("""\
                ```rust
                #[derive(Debug, Clone, Copy)]
                pub struct Temperature {
                    celsius: f64,
                    fahrenheit: f64,
                }

                impl Temperature {
                    pub fn from_celsius(c: f64) -> Self {
                        Self { celsius: c, fahrenheit: c * 1.8 + 32.0 }
                    }
                    pub fn from_fahrenheit(f: f64) -> Self {
                        Self { celsius: (f - 32.0) / 1.8, fahrenheit: f }
                    }
                    pub fn celsius(&self) -> f64 { self.celsius }
                    pub fn fahrenheit(&self) -> f64 { self.fahrenheit }
                }
                ```""")),
            ("llama-2-13b-chat", 1, "Free functions on bare floats, no struct at all, so the requested API does not exist.", d("""\
                ```rust
                fn c_to_f(c: f32) -> f32 { c * 9.0 / 5.0 + 32.0 }
                fn f_to_c(f: f32) -> f32 { (f - 32.0) * 5.0 / 9.0 }
                ```""")),
        ],
    },
]

# CODAL-Bench items: two per preference, each with reference answers from two models.
BENCH = [
    {
        "preference": "instruction-following",
        "instruction": "Write a Python function `is_palindrome(s)` that ignores case and any non-alphanumeric characters. Use no imports.",
        "gpt-3.5-turbo": d("""\
            ```python
            def is_palindrome(s):
                cleaned = [c.lower() for c in s if c.isalnum()]
                return cleaned == cleaned[::-1]
            ```"""),
        "gpt-4-turbo": d("""\
            ```python
            def is_palindrome(s: str) -> bool:
                left, right = 0, len(s) - 1
                while left < right:
                    if not s[left].isalnum():
                        left += 1
                    elif not s[right].isalnum():
                        right -= 1
                    elif s[left].lower() != s[right].lower():
                        return False
                    else:
                        left, right = left + 1, right - 1
                return True
            ```
            Two indices walk inwards, skipping anything that is not a letter or digit; no imports."""),
    },
    {
        "preference": "instruction-following",
        "instruction": "In JavaScript, write a function that returns the unique values of an array in their first-seen order. Answer in a single code block and nothing else.",
        "gpt-3.5-turbo": "```javascript\nconst unique = (values) => [...new Set(values)];\n```",
        "gpt-4-turbo": "```javascript\nfunction unique(values) {\n  return Array.from(new Set(values)); // a Set keeps insertion order\n}\n```",
    },
    {
        "preference": "explanation",
        "instruction": "Explain what a Python generator is and show one example where it saves memory compared with a list.",
        "gpt-3.5-turbo": d("""\
            A generator produces values one at a time, pausing at each `yield` until the next
            value is asked for, so it never holds them all at once.

            ```python
            total = sum(x * x for x in range(10_000_000))   # constant memory
            total = sum([x * x for x in range(10_000_000)]) # builds a 10-million-item list first
            ```"""),
        "gpt-4-turbo": d("""\
            A generator is a function that uses `yield`. Calling it returns an iterator; each
            `next()` runs the body until the next `yield`, hands out that value, and freezes the
            function's state until it is asked again.

            ```python
            def read_records(path):
                with open(path, encoding="utf-8") as f:
                    for line in f:
                        yield line.rstrip("\\n").split(",")

            errors = sum(1 for rec in read_records("huge.csv") if rec[2] == "ERROR")
            ```
            Only one line is in memory at a time, so a 20 GB file is counted with a few KB,
            while `f.readlines()` would try to load all of it."""),
    },
    {
        "preference": "explanation",
        "instruction": "Explain what the following SQL does, step by step: `SELECT dept, AVG(salary) FROM staff GROUP BY dept HAVING COUNT(*) > 5;`",
        "gpt-3.5-turbo": "It groups the rows of `staff` by department, computes the average salary of each group, and keeps only the departments with more than five employees. `HAVING` filters groups after aggregation, unlike `WHERE`, which filters rows before it.",
        "gpt-4-turbo": d("""\
            1. `FROM staff` reads every row of the table.
            2. `GROUP BY dept` puts rows with the same department into one group.
            3. `HAVING COUNT(*) > 5` drops groups with five or fewer rows; it runs after
               grouping, which is why it can use an aggregate and `WHERE` cannot.
            4. `SELECT dept, AVG(salary)` returns one row per remaining group: the department
               and the mean salary of its members (NULL salaries are ignored by AVG)."""),
    },
    {
        "preference": "complexity",
        "instruction": "Write a function in Python that returns the k largest numbers of a list of n numbers, efficiently when k is much smaller than n.",
        "gpt-3.5-turbo": d("""\
            ```python
            import heapq

            def k_largest(numbers, k):
                return heapq.nlargest(k, numbers)
            ```
            `nlargest` keeps a heap of size k: O(n log k) time and O(k) memory."""),
        "gpt-4-turbo": d("""\
            ```python
            import heapq

            def k_largest(numbers, k):
                if k <= 0:
                    return []
                heap = []
                for x in numbers:
                    if len(heap) < k:
                        heapq.heappush(heap, x)
                    elif x > heap[0]:
                        heapq.heapreplace(heap, x)
                return sorted(heap, reverse=True)
            ```
            A min-heap of the k best seen so far: O(n log k) time, O(k) space, versus
            O(n log n) for sorting everything."""),
    },
    {
        "preference": "complexity",
        "instruction": "Check whether a Java array of n integers contains a duplicate, with better than quadratic time.",
        "gpt-3.5-turbo": "```java\nstatic boolean hasDuplicate(int[] a) {\n    Set<Integer> seen = new HashSet<>();\n    for (int x : a) if (!seen.add(x)) return true;\n    return false;\n}\n```\nO(n) expected time, O(n) space.",
        "gpt-4-turbo": "```java\nstatic boolean hasDuplicate(int[] values) {\n    var seen = new HashSet<Integer>(values.length * 2);\n    for (int v : values) {\n        if (!seen.add(v)) return true;  // add returns false for a repeat\n    }\n    return false;\n}\n```\nO(n) expected time with early exit; pre-sizing avoids rehashing. If memory matters, sort a copy and compare neighbours: O(n log n) time, no set.",
    },
    {
        "preference": "readability",
        "instruction": "Make this JavaScript readable: `const r=a.filter(x=>x.a&&!x.d).map(x=>({n:x.n,t:x.p*x.q}))`",
        "gpt-3.5-turbo": "```javascript\nconst activeOrderTotals = orders\n  .filter((order) => order.active && !order.deleted)\n  .map((order) => ({ name: order.name, total: order.price * order.quantity }));\n```",
        "gpt-4-turbo": d("""\
            ```javascript
            // Orders that are active and not deleted, with the total price of each.
            const isOpen = (order) => order.active && !order.deleted;
            const withTotal = (order) => ({
              name: order.name,
              total: order.price * order.quantity,
            });

            const openOrderTotals = orders.filter(isOpen).map(withTotal);
            ```
            The field names are guesses from the letters; rename them to match your data."""),
    },
    {
        "preference": "readability",
        "instruction": "Write a readable C function that reverses a null-terminated string in place.",
        "gpt-3.5-turbo": "```c\nvoid reverse(char *s) {\n    size_t len = strlen(s);\n    for (size_t i = 0; i < len / 2; i++) {\n        char tmp = s[i];\n        s[i] = s[len - 1 - i];\n        s[len - 1 - i] = tmp;\n    }\n}\n```",
        "gpt-4-turbo": d("""\
            ```c
            #include <string.h>

            /* Reverses `text` in place. `text` must be a writable, NUL-terminated string. */
            void reverse_string(char *text)
            {
                char *front = text;
                char *back = text + strlen(text);   /* one past the last character */

                while (front < back - 1) {
                    back--;
                    char swapped = *front;
                    *front = *back;
                    *back = swapped;
                    front++;
                }
            }
            ```"""),
    },
    {
        "preference": "style",
        "instruction": "Write an idiomatic Go function that reads lines from an io.Reader and returns them as a slice.",
        "gpt-3.5-turbo": "```go\nfunc ReadLines(r io.Reader) ([]string, error) {\n\tvar lines []string\n\tscanner := bufio.NewScanner(r)\n\tfor scanner.Scan() {\n\t\tlines = append(lines, scanner.Text())\n\t}\n\treturn lines, scanner.Err()\n}\n```",
        "gpt-4-turbo": "```go\n// ReadLines returns the lines of r without their line endings.\nfunc ReadLines(r io.Reader) ([]string, error) {\n\tvar lines []string\n\tsc := bufio.NewScanner(r)\n\tfor sc.Scan() {\n\t\tlines = append(lines, sc.Text())\n\t}\n\tif err := sc.Err(); err != nil {\n\t\treturn nil, fmt.Errorf(\"read lines: %w\", err)\n\t}\n\treturn lines, nil\n}\n```",
    },
    {
        "preference": "style",
        "instruction": "Write a Python dataclass for a 2D point with a method returning the distance to another point, in idiomatic modern Python.",
        "gpt-3.5-turbo": "```python\nfrom dataclasses import dataclass\nimport math\n\n@dataclass\nclass Point:\n    x: float\n    y: float\n\n    def distance_to(self, other: \"Point\") -> float:\n        return math.hypot(self.x - other.x, self.y - other.y)\n```",
        "gpt-4-turbo": "```python\nfrom __future__ import annotations\n\nimport math\nfrom dataclasses import dataclass\n\n\n@dataclass(frozen=True, slots=True)\nclass Point:\n    x: float\n    y: float\n\n    def distance_to(self, other: Point) -> float:\n        \"\"\"Euclidean distance between the two points.\"\"\"\n        return math.hypot(self.x - other.x, self.y - other.y)\n```",
    },
]
