//! How names become search terms, the same way at index and at query time.
//!
//! Music names are hostile to ordinary tokenisers: `AC/DC`, `$uicideboy$`, `(G)I-DLE`,
//! `B.o.B`, `Beyoncé`. The rules, applied to indexed text and to queries alike:
//!
//! - case and diacritics fold away (`Beyoncé` → `beyonce`, `Straße` → `strasse`);
//! - a `$` touching a letter or digit reads as `s` (`$uicideboy$` → `suicideboys`,
//!   `Ke$ha` → `kesha`), because that is how listeners type it;
//! - any other punctuation splits words, and words joined by punctuation alone (no space)
//!   also yield their concatenation (`AC/DC` → `ac`, `dc`, `acdc`; `(G)I-DLE` → `g`, `i`,
//!   `dle`, `gidle`), so both `ac dc` and `acdc` find it.
//!
//! The prefix fields additionally index every leading part (edge n-gram) of each term, which
//! turns search-as-you-type into a single term lookup instead of a term-dictionary scan.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// Name of the analyzer of the word fields, as registered with the index.
pub const WORDS: &str = "tm_words";
/// Name of the analyzer of the prefix (edge n-gram) fields.
pub const PREFIXES: &str = "tm_prefixes";

/// Longest prefix indexed: longer typed prefixes are cut to it (still selective enough).
pub const MAX_PREFIX_CHARS: usize = 16;

/// One term of a text, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The folded term.
    pub text: String,
    /// Byte range of the original text it was made from.
    pub start: usize,
    /// End of that range (exclusive).
    pub end: usize,
    /// True for the concatenation of punctuation-joined words (`acdc`).
    pub compound: bool,
    /// Index of the word in the text (a compound has the index of its first word).
    pub position: usize,
}

/// The terms of `text`: every word, then, after the words of a punctuation-joined cluster,
/// their concatenation.
pub fn terms(text: &str) -> Vec<Term> {
    let mut out = Vec::new();
    let mut cluster: Vec<Term> = Vec::new();
    let mut word = String::new();
    let mut word_start = 0;
    let mut position = 0;
    // Whether whitespace was seen since the last word: it ends the cluster.
    let mut spaced = false;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(offset, c)) in chars.iter().enumerate() {
        let letter = c.is_alphanumeric()
            || (c == '$' && (neighbour_is_word(&chars, i, -1) || neighbour_is_word(&chars, i, 1)));
        if letter {
            if word.is_empty() {
                word_start = offset;
                if spaced {
                    flush_cluster(&mut cluster, &mut out);
                    spaced = false;
                }
            }
            if c == '$' {
                word.push('s');
            } else {
                fold_into(c, &mut word);
            }
            continue;
        }
        if !word.is_empty() {
            cluster.push(Term {
                text: std::mem::take(&mut word),
                start: word_start,
                end: offset,
                compound: false,
                position,
            });
            position += 1;
        }
        if c.is_whitespace() {
            spaced = true;
        }
    }
    if !word.is_empty() {
        cluster.push(Term {
            text: word,
            start: word_start,
            end: text.len(),
            compound: false,
            position,
        });
    }
    flush_cluster(&mut cluster, &mut out);
    out.retain(|term| !term.text.is_empty());
    out
}

/// Moves a cluster's words to `out`, followed by their concatenation when there are several.
fn flush_cluster(cluster: &mut Vec<Term>, out: &mut Vec<Term>) {
    if cluster.len() > 1 {
        let joined: String = cluster.iter().map(|t| t.text.as_str()).collect();
        let compound = Term {
            text: joined,
            start: cluster[0].start,
            end: cluster[cluster.len() - 1].end,
            compound: true,
            position: cluster[0].position,
        };
        out.append(cluster);
        out.push(compound);
    } else {
        out.append(cluster);
    }
}

fn neighbour_is_word(chars: &[(usize, char)], i: usize, step: isize) -> bool {
    i.checked_add_signed(step)
        .and_then(|j| chars.get(j))
        .is_some_and(|&(_, c)| c.is_alphanumeric())
}

/// Appends `c` lowercased and without diacritics.
fn fold_into(c: char, out: &mut String) {
    // Letters that do not decompose into base + mark, written out the way people type them.
    let special = match c {
        'ß' | 'ẞ' => Some("ss"),
        'æ' | 'Æ' => Some("ae"),
        'œ' | 'Œ' => Some("oe"),
        'ø' | 'Ø' => Some("o"),
        'ł' | 'Ł' => Some("l"),
        'đ' | 'Đ' | 'ð' | 'Ð' => Some("d"),
        'þ' | 'Þ' => Some("th"),
        'ı' => Some("i"),
        _ => None,
    };
    if let Some(s) = special {
        out.push_str(s);
        return;
    }
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    for lower in c.to_lowercase() {
        out.extend(lower.nfkd().filter(|d| !is_combining_mark(*d)));
    }
}

/// Number of typos tolerated in a query term of `chars` characters: none below 4, one from
/// 4, two from 8.
pub fn typo_budget(chars: usize) -> u8 {
    match chars {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Edit distance (Damerau, adjacent transpositions count one) between `a` and `b`, or
/// `None` once it exceeds `max`; cheap for the short terms highlighting compares.
pub fn within_distance(a: &str, b: &str, max: u8) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let max = usize::from(max);
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    // Optimal string alignment distance, three rolling rows.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = current[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return false;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()] <= max
}

/// The tantivy tokenizer of both field families: words (and compounds), or every prefix of
/// them up to [`MAX_PREFIX_CHARS`].
#[derive(Debug, Clone, Copy)]
pub struct NameTokenizer {
    /// Emit the edge n-grams of each term instead of the term.
    pub prefixes: bool,
}

impl Tokenizer for NameTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        for term in terms(text) {
            let token = |text: String| Token {
                offset_from: term.start,
                offset_to: term.end,
                position: term.position,
                text,
                position_length: 1,
            };
            if self.prefixes {
                let mut prefix = String::new();
                for c in term.text.chars().take(MAX_PREFIX_CHARS) {
                    prefix.push(c);
                    tokens.push(token(prefix.clone()));
                }
            } else {
                tokens.push(token(term.text));
            }
        }
        VecTokenStream {
            tokens,
            next: 0,
            current: Token::default(),
        }
    }
}

/// Tokens computed up front (names are short), handed out one by one.
#[derive(Debug)]
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
    current: Token,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        match self.tokens.get_mut(self.next) {
            Some(token) => {
                self.current = std::mem::take(token);
                self.next += 1;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        terms(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn punctuation_joined_words_also_index_their_concatenation() {
        assert_eq!(texts("AC/DC"), ["ac", "dc", "acdc"]);
        assert_eq!(texts("(G)I-DLE"), ["g", "i", "dle", "gidle"]);
        assert_eq!(texts("Guns N' Roses"), ["guns", "n", "roses"]);
        assert_eq!(
            texts("will.i.am rocks"),
            ["will", "i", "am", "william", "rocks"]
        );
    }

    #[test]
    fn dollar_signs_in_names_read_as_s() {
        assert_eq!(texts("$uicideboy$"), ["suicideboys"]);
        assert_eq!(texts("Ke$ha"), ["kesha"]);
        assert_eq!(texts("Ty Dolla $ign"), ["ty", "dolla", "sign"]);
        assert_eq!(texts("$ 5"), ["5"]);
    }

    #[test]
    fn case_and_diacritics_fold() {
        assert_eq!(texts("Beyoncé"), ["beyonce"]);
        assert_eq!(texts("Sigur Rós Ágætis"), ["sigur", "ros", "agaetis"]);
        assert_eq!(
            texts("Motörhead STRASSE Straße"),
            ["motorhead", "strasse", "strasse"]
        );
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let text = "Beyoncé & AC/DC";
        let found = terms(text);
        let spans: Vec<&str> = found.iter().map(|t| &text[t.start..t.end]).collect();
        assert_eq!(spans, ["Beyoncé", "AC", "DC", "AC/DC"]);
    }

    #[test]
    fn hostile_text_gives_no_terms_or_plain_ones() {
        assert!(terms("").is_empty());
        assert!(terms("!!! ??? ...").is_empty());
        assert_eq!(
            texts("title:(\"x\" AND y*)~2"),
            ["title", "x", "titlex", "and", "y", "2", "y2"]
        );
    }

    #[test]
    fn typo_budget_grows_with_length() {
        assert_eq!(typo_budget(3), 0);
        assert_eq!(typo_budget(4), 1);
        assert_eq!(typo_budget(8), 2);
        assert!(within_distance("metallica", "metalica", 1));
        assert!(within_distance("beatles", "beatels", 1));
        assert!(!within_distance("abba", "queen", 2));
    }
}
