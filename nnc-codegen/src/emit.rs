//! Assembles the generated module from small pieces: constants, weight statics, one function per
//! scale and path, the `Network` type and its typed inputs and outputs.

use crate::input::{MacroInput, Storage};
use crate::ops::{self, Path, StepCtx, n};
use crate::{Compiled, Variant};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use std::cell::RefCell;

/// The name used for a variant: `v640x480` (width x height).
pub fn variant_name(v: &Variant) -> Ident {
    format_ident!("v{}x{}", v.frame.width, v.frame.height)
}

/// An identifier for a head, raw when the name is a Rust keyword (`box` -> `r#box`).
fn head_ident(name: &str) -> Ident {
    let clean: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    match syn::parse_str::<Ident>(&clean) {
        Ok(ident) => ident,
        Err(_) => Ident::new_raw(&clean, Span::call_site()),
    }
}

/// The whole generated module.
pub fn module(input: &MacroInput, compiled: &Compiled) -> TokenStream {
    let MacroInput {
        attrs, vis, name, ..
    } = input;
    let params = &compiled.params;
    let statics = params.statics(compiled.storage);
    // The largest variant's figures: the arena is shared, so it must fit the largest.
    let largest = |f: fn(&nnc_ir::plan::Plan) -> usize| {
        compiled
            .variants
            .iter()
            .map(|v| f(&v.plan))
            .max()
            .unwrap_or(0)
    };
    let arena_len = n(largest(|p| p.arena_len));
    let arena_bytes = n(largest(|p| p.arena_len) * 4);
    let naive_bytes = n(largest(|p| p.naive_len) * 4);
    let lower_bytes = n(largest(|p| p.lower_bound_len) * 4);
    let param_count = n(params.tensors.len());
    let weight_bytes = n(params.bytes(compiled.storage));
    let wide_bytes = n(params
        .tensors
        .iter()
        .filter(|t| t.wide)
        .map(|t| t.data.len() * 4)
        .sum());
    let parameters = n(compiled.model.weights.parameter_count());
    let channels = n(compiled.model.graph.input_channels());
    let plan_text: String = compiled
        .variants
        .iter()
        .map(|v| format!("{}\n", v.plan.display(&compiled.model.graph)))
        .collect();
    let model_path = compiled.model_path.display().to_string();
    let weights_path = compiled.weights_path.display().to_string();
    let load_params = match compiled.storage {
        Storage::F32 => quote! { rt::Params::from_f32(&PARAMS) },
        Storage::F16 => {
            let wide = params.stored_as_f32(Storage::F16);
            quote! { rt::Params::from_f16(&PARAMS, &[#(#wide),*]) }
        }
    };
    let variants: Vec<TokenStream> = compiled
        .variants
        .iter()
        .map(|v| variant(compiled, v))
        .collect();
    let accessors = compiled.variants.iter().map(|v| {
        let name = variant_name(v);
        let ty = format_ident!("V{}x{}", v.frame.width, v.frame.height);
        let doc = format!(
            "Runs the network compiled for {}x{} frames (width x height).",
            v.frame.width, v.frame.height
        );
        quote! {
            #[doc = #doc]
            pub fn #name(&mut self) -> #ty<'_> {
                #ty { net: self }
            }
        }
    });
    let pyramid = pyramid_impl(compiled);
    quote! {
        #(#attrs)*
        #vis mod #name {
            use ::nnc::__private as rt;

            // Rebuild when the description or the weights change.
            const _: &[u8] = include_bytes!(#model_path);
            const _: &[u8] = include_bytes!(#weights_path);

            /// Channels of the input image (NHWC, f32).
            pub const INPUT_CHANNELS: usize = #channels;
            /// Bytes of the activation arena shared by every scale and variant.
            pub const ARENA_BYTES: usize = #arena_bytes;
            /// Bytes all intermediate tensors would take with no reuse (largest variant).
            pub const NAIVE_BYTES: usize = #naive_bytes;
            /// The most bytes live at one step (largest variant): no arena can be smaller.
            pub const LOWER_BOUND_BYTES: usize = #lower_bytes;
            /// Bytes of weight statics in the binary.
            pub const WEIGHT_BYTES: usize = #weight_bytes;
            /// Of those, the bytes of statics that are f32 whatever `weights_as` says (F(4x4, 3x3)'s
            /// transformed weights).
            pub const WIDE_WEIGHT_BYTES: usize = #wide_bytes;
            /// Learned parameters.
            pub const PARAMETERS: usize = #parameters;
            /// The arena plan of every variant, as `nnc_ir::plan::Plan` displays it.
            pub const PLAN: &str = #plan_text;

            #statics

            /// The compiled network: owns its arena (allocated once) and its weights.
            #[derive(Debug)]
            pub struct Network {
                arena: rt::Arena,
                params: rt::Params<#param_count>,
                avx2: bool,
                avx512: bool,
            }

            impl Network {
                /// Allocates the arena and picks the fastest path this CPU supports: AVX-512
                /// (convolutions with ReLU or no activation on sixteen lanes where their channels
                /// fill them, the rest as AVX2),
                /// AVX2 and FMA, or portable code.
                pub fn new() -> Self {
                    Network {
                        arena: rt::Arena::new(#arena_len),
                        params: #load_params,
                        avx2: rt::has_avx2_fma(),
                        avx512: rt::has_avx512(),
                    }
                }

                /// Like [`Network::new`], but always on the portable path (for comparison).
                pub fn portable() -> Self {
                    Network { avx2: false, avx512: false, ..Self::new() }
                }

                /// Like [`Network::new`], but never on the AVX-512 path (for comparison).
                pub fn without_avx512() -> Self {
                    Network { avx512: false, ..Self::new() }
                }

                /// True when runs use the AVX2+FMA kernels (also on the AVX-512 path).
                pub fn uses_avx2(&self) -> bool {
                    self.avx2
                }

                /// True when runs use the AVX-512 convolution kernels.
                pub fn uses_avx512(&self) -> bool {
                    self.avx512
                }

                /// The path runs take: `"avx512"`, `"avx2"` or `"portable"`.
                pub fn path(&self) -> &'static str {
                    if self.avx512 {
                        "avx512"
                    } else if self.avx2 {
                        "avx2"
                    } else {
                        "portable"
                    }
                }

                #(#accessors)*
            }

            impl Default for Network {
                fn default() -> Self {
                    Self::new()
                }
            }

            #pyramid

            #(#variants)*
        }
    }
}

/// Everything for one input size: its constants and types, its scale functions, and its runner.
fn variant(compiled: &Compiled, v: &Variant) -> TokenStream {
    let scales: Vec<ScaleItems> = (0..v.plan.sizes.len())
        .map(|scale| scale_items(compiled, v, scale))
        .collect();
    let module = variant_module(compiled, v, &scales);
    let functions = path_modules(compiled, v);
    let runner = runner(v, &scales);
    quote! {
        #module

        #functions

        #runner
    }
}

/// What one scale contributes to its variant.
struct ScaleItems {
    /// `scale0`: the runner's method, and the scale's field in `Inputs` and `Outputs`.
    field: Ident,
    /// The scale functions, `v640x480_portable::scale0`, `v640x480_avx2::scale0` and
    /// `v640x480_avx512::scale0`.
    functions_of: PathFunctions,
    /// `Scale0<'a>`, the struct of the scale's heads, in the variant's module.
    output_type: TokenStream,
    /// The scale's fields in the variant's `Inputs` and `Outputs`.
    input_field: TokenStream,
    output_field: TokenStream,
    /// Builds the scale's heads from `arena`.
    build_outputs: TokenStream,
    /// The runner's method that runs this scale alone.
    method: TokenStream,
}

/// One scale of a variant: its two scale functions, its heads' type and the runner's method.
fn scale_items(compiled: &Compiled, v: &Variant, scale: usize) -> ScaleItems {
    let graph = &compiled.model.graph;
    let plan = &v.plan;
    let name = variant_name(v);
    let (h, w) = plan.sizes[scale];
    let channels = graph.input_channels();
    let input_len = n(h * w * channels);
    let function = format_ident!("scale{}", scale);
    let [portable, avx2, avx512] = [Path::Portable, Path::Avx2, Path::Avx512].map(|path| {
        let module = path_module(v, path);
        quote! { #module::#function }
    });
    let functions_of = PathFunctions {
        portable,
        avx2,
        avx512,
    };
    let scale_ty = format_ident!("Scale{}", scale);
    let field = format_ident!("scale{}", scale);
    let heads: Vec<_> = graph
        .outputs
        .iter()
        .map(|head| {
            let s = plan.shapes[scale].of(head.value);
            let b = plan.buffer(scale, head.value);
            (head_ident(&head.name), s, n(b.offset), n(b.offset + b.len))
        })
        .collect();
    let fields = heads.iter().map(|(id, s, _, _)| {
        let [hh, ww, cc] = [s.h, s.w, s.c].map(n);
        let doc = format!("`{id}`: {hh}x{ww}x{cc}.");
        quote! { #[doc = #doc] pub #id: rt::Map<'a, #hh, #ww, #cc> }
    });
    let doc = format!("The heads of scale {scale} ({h}x{w}).");
    let output_type = quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy)]
        pub struct #scale_ty<'a> { #(#fields,)* }
    };
    let build = heads.iter().map(|(id, _, offset, end)| {
        quote! { #id: rt::Map::new(&arena[#offset..#end]) }
    });
    let build_outputs = quote! { #name::#scale_ty { #(#build,)* } };
    let doc = format!("Runs scale {scale}: input {h}x{w}x{channels} (NHWC), returns its heads.");
    let run = dispatch(&functions_of, quote! { input });
    let method = quote! {
        #[doc = #doc]
        pub fn #field(self, input: &[f32; #input_len]) -> #name::#scale_ty<'a> {
            let net = self.net;
            let arena = net.arena.as_mut_ptr();
            #run
            let arena = net.arena.as_slice();
            #build_outputs
        }
    };
    ScaleItems {
        input_field: quote! { pub #field: &'a [f32; #input_len] },
        output_field: quote! { pub #field: #scale_ty<'a> },
        field,
        functions_of,
        output_type,
        build_outputs,
        method,
    }
}

/// The paths of one scale's function on each instruction-set path.
struct PathFunctions {
    portable: TokenStream,
    avx2: TokenStream,
    avx512: TokenStream,
}

/// The module of a variant's functions on one path: `v640x480_avx2`.
fn path_module(v: &Variant, path: Path) -> Ident {
    let name = variant_name(v);
    match path {
        Path::Portable => format_ident!("{}_portable", name),
        Path::Avx2 => format_ident!("{}_avx2", name),
        Path::Avx512 => format_ident!("{}_avx512", name),
    }
}

/// A variant's three modules, portable, AVX2 and AVX-512: in each, a function a scale that calls
/// every step of the plan in order, and the kernel functions they call (`ops::Isa::call`; the
/// AVX-512 path also calls the AVX2 module's).
///
/// A module a path, because rustc's codegen units follow modules: each path's kernels are
/// optimized in a unit of their own, the units of a network on as many threads as the build has,
/// and a path's code lies together in the binary, so that a run touches the pages of its own
/// path only.
fn path_modules(compiled: &Compiled, v: &Variant) -> TokenStream {
    let plan = &v.plan;
    let param_count = n(compiled.params.tensors.len());
    let kernels = RefCell::new(Vec::new());
    let modules = [Path::Portable, Path::Avx2, Path::Avx512].map(|path| {
        let module = path_module(v, path);
        let functions: Vec<TokenStream> = (0..plan.sizes.len())
            .map(|scale| {
                let cx = StepCtx {
                    graph: &compiled.model.graph,
                    plan,
                    params: &compiled.params,
                    scale,
                    path,
                    module: &module,
                    kernels: &kernels,
                };
                let steps = (0..plan.groups.len()).map(|g| ops::step(&cx, g));
                let function = format_ident!("scale{}", scale);
                let (h, w) = plan.sizes[scale];
                let doc = format!(
                    "Scale {scale} ({h}x{w}) of {}: every step of the plan, in order.",
                    variant_name(v)
                );
                // Safety of the calls inside: offsets and sizes come from a verified plan inside
                // the arena, no step's output overlaps its inputs, `input` holds the scale's
                // input, and callers check the path's features first (`dispatch`).
                let features = match path {
                    Path::Portable => quote! {},
                    Path::Avx2 => quote! { #[target_feature(enable = "avx2,fma")] },
                    Path::Avx512 => quote! { #[target_feature(enable = "avx512f,avx2,fma")] },
                };
                quote! {
                    #[doc = #doc]
                    #features
                    #[inline(never)]
                    pub(super) unsafe fn #function(
                        arena: *mut f32,
                        input: *const f32,
                        w: &rt::Params<#param_count>,
                    ) {
                        unsafe { #(#steps)* }
                    }
                }
            })
            .collect();
        let own: Vec<TokenStream> = kernels
            .borrow()
            .iter()
            .filter(|k| k.module == module)
            .map(|k| k.definition.clone())
            .collect();
        let cfg = match path {
            Path::Portable => quote! {},
            Path::Avx2 | Path::Avx512 => quote! { #[cfg(target_arch = "x86_64")] },
        };
        quote! {
            #cfg
            mod #module {
                use super::rt;

                #(#functions)*

                #(#own)*
            }
        }
    });
    quote! { #(#modules)* }
}

/// The variant's module: its sizes, scales and FLOPs, and the types of its inputs and heads.
fn variant_module(compiled: &Compiled, v: &Variant, scales: &[ScaleItems]) -> TokenStream {
    let plan = &v.plan;
    let name = variant_name(v);
    let sizes = plan.sizes.iter().map(|&(h, w)| {
        let (h, w) = (n(h), n(w));
        quote! { (#h, #w) }
    });
    let scale_factors = &compiled.scales;
    let total_flops = proc_macro2::Literal::u64_unsuffixed(plan.flops.iter().sum());
    let flops: Vec<_> = plan
        .flops
        .iter()
        .map(|f| proc_macro2::Literal::u64_unsuffixed(*f))
        .collect();
    let output_types = scales.iter().map(|s| &s.output_type);
    let input_fields = scales.iter().map(|s| &s.input_field);
    let output_fields = scales.iter().map(|s| &s.output_field);
    let doc = format!(
        "Constants and types of the {}x{} variant (width x height).",
        v.frame.width, v.frame.height
    );
    quote! {
        #[doc = #doc]
        pub mod #name {
            use super::rt;

            /// Input (height, width) of each scale.
            pub const SIZES: &[(usize, usize)] = &[#(#sizes),*];
            /// The scale factors, as given.
            pub const SCALES: &[f64] = &[#(#scale_factors),*];
            /// FLOPs of each scale (direct convolution count).
            pub const FLOPS: &[u64] = &[#(#flops),*];
            /// FLOPs of the whole pyramid.
            pub const TOTAL_FLOPS: u64 = #total_flops;

            #(#output_types)*

            /// One input per scale, each NHWC f32.
            #[derive(Debug, Clone, Copy)]
            pub struct Inputs<'a> { #(#input_fields,)* }

            /// The heads of every scale.
            #[derive(Debug, Clone, Copy)]
            pub struct Outputs<'a> { #(#output_fields,)* }
        }
    }
}

/// The variant's runner, `V640x480<'a>`: a method per scale, and `run_all`.
fn runner(v: &Variant, scales: &[ScaleItems]) -> TokenStream {
    let name = variant_name(v);
    let ty = format_ident!("V{}x{}", v.frame.width, v.frame.height);
    let methods = scales.iter().map(|s| &s.method);
    let runs = scales.iter().map(|s| {
        let field = &s.field;
        dispatch(&s.functions_of, quote! { inputs.#field })
    });
    let collect = scales.iter().map(|s| {
        let (field, build) = (&s.field, &s.build_outputs);
        quote! { #field: #build }
    });
    let doc = format!(
        "The {}x{} variant of a [`Network`], borrowed for one run.",
        v.frame.width, v.frame.height
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug)]
        pub struct #ty<'a> {
            net: &'a mut Network,
        }

        impl<'a> #ty<'a> {
            #(#methods)*

            /// Runs every scale in turn and returns all their heads.
            pub fn run_all(self, inputs: #name::Inputs<'_>) -> #name::Outputs<'a> {
                let net = self.net;
                let arena = net.arena.as_mut_ptr();
                #(#runs)*
                let arena = net.arena.as_slice();
                #name::Outputs { #(#collect,)* }
            }
        }
    }
}

/// Calls one scale function on the path the network chose when it was made. Expects `net` and
/// `arena` in scope; `input` is an expression for the scale's input array.
fn dispatch(names: &PathFunctions, input: TokenStream) -> TokenStream {
    let PathFunctions {
        portable,
        avx2,
        avx512,
    } = names;
    quote! {
        #[cfg(target_arch = "x86_64")]
        if net.avx512 {
            // SAFETY: AVX-512F, AVX2 and FMA were detected when the network was made.
            unsafe { #avx512(arena, #input.as_ptr(), &net.params) };
        } else if net.avx2 {
            // SAFETY: AVX2 and FMA were detected when the network was made.
            unsafe { #avx2(arena, #input.as_ptr(), &net.params) };
        } else {
            // SAFETY: see the scale function.
            unsafe { #portable(arena, #input.as_ptr(), &net.params) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: see the scale function.
        unsafe { #portable(arena, #input.as_ptr(), &net.params) };
    }
}

/// `rt::Pyramid` for the generated `Network`, so that a detector can drive any variant and scale.
fn pyramid_impl(compiled: &Compiled) -> TokenStream {
    let graph = &compiled.model.graph;
    let frames = compiled.variants.iter().map(|v| {
        let (w, h) = (n(v.frame.width), n(v.frame.height));
        quote! { (#w, #h) }
    });
    let sizes = compiled.variants.iter().enumerate().map(|(i, v)| {
        let (i, name) = (n(i), variant_name(v));
        quote! { #i => #name::SIZES.to_vec(), }
    });
    let mut arms = Vec::new();
    for (vi, v) in compiled.variants.iter().enumerate() {
        let name = variant_name(v);
        for scale in 0..v.plan.sizes.len() {
            let method = format_ident!("scale{}", scale);
            let visits = graph.outputs.iter().map(|head| {
                let s = v.plan.shapes[scale].of(head.value);
                let (h, w, c) = (n(s.h), n(s.w), n(s.c));
                let field = head_ident(&head.name);
                let label = &head.name;
                quote! { visit(rt::HeadView { name: #label, shape: rt::Shape { h: #h, w: #w, c: #c }, data: o.#field.data() }); }
            });
            let expect = format!("scale {scale} of {name} takes an input of exactly its size");
            let (vi, si) = (n(vi), n(scale));
            arms.push(quote! {
                (#vi, #si) => {
                    let o = self.#name().#method(input.try_into().expect(#expect));
                    #(#visits)*
                }
            });
        }
    }
    quote! {
        impl rt::Pyramid for Network {
            fn input_channels(&self) -> usize {
                INPUT_CHANNELS
            }

            fn frames(&self) -> Vec<(usize, usize)> {
                vec![#(#frames),*]
            }

            fn sizes(&self, variant: usize) -> Vec<(usize, usize)> {
                match variant {
                    #(#sizes)*
                    _ => Vec::new(),
                }
            }

            fn run_scale(&mut self, variant: usize, scale: usize, input: &[f32], visit: &mut dyn FnMut(rt::HeadView<'_>)) {
                match (variant, scale) {
                    #(#arms)*
                    _ => panic!("no variant {variant} with a scale {scale}"),
                }
            }
        }
    }
}
